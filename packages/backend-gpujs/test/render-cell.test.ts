import { CELLS, defineCell } from '@bistable/core';
import { describe, expect, it } from 'vitest';
import { cellKernels } from '../src/kernels/render-cell.js';
import { PEEPHOLE } from './recipe-cell.js';

/** What the renderer decides from a cell's program alone, before any kernel runs. */
describe('step kernels rendered from a recipe', () => {
  it('are rendered once per cell spec and array limit', () => {
    expect(cellKernels(CELLS.GRU)).toBe(cellKernels(CELLS.GRU));
    expect(cellKernels(CELLS.GRU, 7)).toBe(cellKernels(CELLS.GRU, 7));
    expect(cellKernels(PEEPHOLE, 7)).not.toBe(cellKernels(PEEPHOLE));
  });

  it('derive the shortcuts from the program: a block equal to another is a copy, a constant a fill', () => {
    const lstm = cellKernels(CELLS.LSTM).backward.regions.map((r) => [r.key, r.source]);
    expect(lstm).toEqual([
      ['dP', { kind: 'kernel' }],
      ['dR', { kind: 'copy', of: 'dP' }],
      ['dhPrev', { kind: 'fill', value: 0 }],
      ['dcPrev', { kind: 'kernel' }],
    ]);
    // nBRC's dR blocks equal its first two dP blocks, but dR rows are narrower: computed, not copied
    expect(cellKernels(CELLS.nBRC).backward.regions.map((r) => r.source.kind)).toEqual([
      'kernel',
      'kernel',
      'kernel',
    ]);
    expect(cellKernels(CELLS.BRC).backward.regions.map((r) => r.key)).toEqual(['dP', 'dhPrev', 'dPw']);
  });

  it('read exactly the arrays the program reads', () => {
    // LSTM's forward never reads h_prev; its fused forward needs it for h @ wh
    expect(cellKernels(CELLS.LSTM).forward.arrays).toEqual([['p'], ['r'], ['cPrev']]);
    expect(cellKernels(CELLS.LSTM).forwardFused!.arrays.flat()).toContain('hPrev');
    // BRC has no recurrent product: no fused forward, no dR @ whᵀ in its backward
    expect(cellKernels(CELLS.BRC).forwardFused).toBeNull();
    expect(cellKernels(CELLS.BRC).backward.flags).toEqual(['hasDOut']);
    expect(cellKernels(CELLS.BRC).backward.arrays.flat()).not.toContain('wh');
  });

  it('take at most the limit of arrays, the four built-in cells without sharing a parameter', () => {
    for (const spec of Object.values(CELLS)) {
      const ks = cellKernels(spec, 7);
      for (const k of [ks.forward, ks.forwardFused, ks.backward]) {
        if (!k) continue;
        expect(k.arrays.length).toBeLessThanOrEqual(7);
        expect(k.arrays.every((g) => g.length === 1)).toBe(true);
      }
    }
    const wide = cellKernels(PEEPHOLE).backward.arrays;
    const packed = cellKernels(PEEPHOLE, 7).backward.arrays;
    expect(wide.length).toBeGreaterThan(7);
    expect(packed.length).toBe(7);
    expect(packed.flat().sort()).toEqual(wide.flat().sort());
    // the smallest arrays share: the big ones (cache, wh, the next step's dR) keep their own
    expect(packed.find((g) => g.length > 1)).not.toEqual(expect.arrayContaining(['cache']));
    expect(packed.find((g) => g.length > 1)).toEqual(expect.arrayContaining(['pw', 'dPw']));
  });

  it('name each kernel by its cell and a hash of its text', () => {
    const twin = defineCell({
      name: 'Peephole-probe',
      params: PEEPHOLE.params,
      cellState: true,
      step: ({ P, R, M, h, c, sigmoid, tanh }) => {
        const f = sigmoid(P[0].add(R[0]).add(M[0].mul(c)));
        const u = tanh(P[1].add(R[1]));
        const cn = f.mul(c).add(f.neg().add(1).mul(u));
        const o = sigmoid(P[2].add(M[1].mul(h)));
        const t = tanh(cn);
        return { h: o.mul(t), c: cn, cache: [f, u, o, t] };
      },
    });
    const a = cellKernels(PEEPHOLE).backward.source!.name;
    const b = cellKernels(twin).backward.source!.name;
    expect(a).toMatch(/^Peephole_probe_bwd_[0-9a-f]{8}$/);
    expect(b).toMatch(/^Peephole_probe_bwd_[0-9a-f]{8}$/);
    // same name, different math: compiled kernels must never be shared between them
    expect(a).not.toBe(b);
  });
});
