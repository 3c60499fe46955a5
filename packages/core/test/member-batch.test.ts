import { describe, expect, it } from 'vitest';
import type { WasmBuffer } from '../src/cpu/buffer.js';
import {
  Adam,
  type CellName,
  CpuBackend,
  cellSpec,
  Ensemble,
  Rng,
  registerKernel,
  type SequenceBackwardArgs,
  type SequenceForwardArgs,
  type SequenceKernels,
  SequenceModel,
} from '../src/index.js';
import { MemberBatch } from '../src/runner/member-batch.js';
import { randn } from './helpers.js';

// wider than the cpu's narrow-input kernels take, so that every layer runs the sequence kernels
const [I, H, O] = [9, 6, 2];
const seeds = [3, 17, 40];

/** Byte stride between consecutive entries' buffers under `name`, or null where it varies. */
function strideOf(list: readonly Record<string, unknown>[], name: string): number | null {
  const addrs = list.map((a) => (a[name] as WasmBuffer | null)?.addr() ?? null);
  if (addrs.some((x) => x === null)) return null;
  const d = addrs[1]! - addrs[0]!;
  return addrs.every((x, k) => x === addrs[0]! + k * d) ? d : null;
}

/**
 * A cpu backend whose cell's sequence kernels also take several models at once: they record each
 * group (its size and whether every operand of its members sits at a fixed stride) and run the
 * members one by one with the cpu's own kernels, so the numbers are the solo runs'.
 */
async function groupingCpu(cell: CellName) {
  const be = await CpuBackend.create({ threads: 1 });
  const own = be.cellKernels!(cellSpec(cell))!.sequence!;
  const groups: { size: number; fixedStride: boolean }[] = [];
  const note = (list: readonly Record<string, unknown>[], names: string[]) =>
    groups.push({
      size: list.length,
      fixedStride: list.length < 2 || names.every((n) => list[0][n] === null || strideOf(list, n) !== null),
    });
  const kernels: SequenceKernels = {
    ...own,
    async forwardMany(list: readonly SequenceForwardArgs[]) {
      note(list as never, ['p', 'wh', 'bh', 'pw', 'hAll', 'cAll', 'cache']);
      for (const a of list) await own.forward(a);
    },
    async backwardMany(list: readonly SequenceBackwardArgs[]) {
      note(list as never, [
        'wh',
        'pw',
        'hAll',
        'cAll',
        'cache',
        'dOut',
        'dhN',
        'dP',
        'dR',
        'dh0',
        'dPw',
        'dBx',
      ]);
      for (const a of list) await own.backward(a);
    },
  };
  registerKernel({ backend: be, cell, level: 3, kernels });
  return { be, groups };
}

function data(rng: Rng, B: number, T: number) {
  const f32 = (t: { shape: number[]; data: Float64Array }) => ({
    shape: t.shape,
    data: Float32Array.from(t.data),
  });
  return { x: f32(randn(rng, [B, T, I])), y: f32(randn(rng, [B, O])) };
}

describe('an ensemble whose backend runs several members per call', () => {
  it.each(['nBRC', 'GRU', 'LSTM'] as const)(
    '%s: each unit runs its members in one call on buffers at a fixed stride, and each member equals its solo run',
    async (cell) => {
      const { be, groups } = await groupingCpu(cell);
      const o = {
        cell,
        inputSize: I,
        hiddenSize: H,
        numLayers: 2,
        outputSize: O,
        readout: 'last' as const,
        loss: 'mse' as const,
      };
      const ens = new Ensemble(be, o, seeds, { lr: 0.03 });
      expect(ens.batch).not.toBeNull();
      const solo = seeds.map((seed) => {
        const model = new SequenceModel(be, { ...o, seed });
        return { model, adam: new Adam(be, [model], { lr: 0.03 }) };
      });
      const rng = new Rng(9);
      // all members; then member 1 sits out; then lengths that differ (T 5, 7, 5)
      const plan = [
        [data(rng, 4, 5), data(rng, 4, 5), data(rng, 4, 5)],
        [data(rng, 4, 5), null, data(rng, 4, 5)],
        [data(rng, 4, 5), data(rng, 3, 7), data(rng, 4, 5)],
      ];
      const sizes: number[][] = [];
      for (const step of plan) {
        const before = groups.length;
        const got = await ens.trainStep(step);
        sizes.push(groups.slice(before).map((g) => g.size));
        for (const [i, s] of solo.entries()) {
          if (!step[i]) {
            expect(got[i]).toBeNull();
            continue;
          }
          const want = await s.model.trainStep(step[i]!.x, step[i]!.y, s.adam);
          expect(got[i]!.loss).toBe(want.loss);
          expect(Array.from(got[i]!.predictions.data)).toEqual(Array.from(want.predictions.data));
        }
      }
      // 2 layers × (forward, backward), each one call for all members taking part
      expect(sizes).toEqual([
        [3, 3, 3, 3],
        [2, 2, 2, 2],
        [3, 3, 3, 3],
      ]);
      // same shapes: every operand at a fixed stride (the members' slabs and the arena)
      expect(groups.slice(0, 8).every((g) => g.fixedStride)).toBe(true);
      for (const [i, s] of solo.entries())
        expect(await ens.members[i].getParameters()).toEqual(await s.model.getParameters());
      ens.dispose();
    },
  );

  it('batchPasses: false runs each member on its own', async () => {
    const { be, groups } = await groupingCpu('nBRC');
    const o = {
      cell: 'nBRC' as const,
      inputSize: I,
      hiddenSize: H,
      numLayers: 1,
      outputSize: O,
      readout: 'last' as const,
      loss: 'mse' as const,
    };
    const ens = new Ensemble(be, o, seeds, {}, { batchPasses: false });
    expect(ens.batch).toBeNull();
    const rng = new Rng(1);
    await ens.trainStep(seeds.map(() => data(rng, 2, 3)));
    expect(groups).toEqual([]);
    ens.dispose();
  });
});

describe('MemberBatch', () => {
  const tick = () => new Promise((r) => setTimeout(r, 1));

  it('groups passes by place, lets members take different numbers of passes, and never waits on a finished member', async () => {
    const batch = new MemberBatch();
    const calls: string[][] = [];
    const run = (list: readonly string[]) => {
      calls.push([...list]);
    };
    const member = (m: number, passes: number) => async () => {
      for (let p = 0; p < passes; p++) {
        if (m === 1) await tick(); // a member slower than the others still meets them
        await batch.pass(`unit${p % 2}`, m, `m${m}p${p}`, run);
      }
      return m;
    };
    const out = await batch.all([
      [0, member(0, 2)],
      [1, member(1, 3)],
      [2, member(2, 1)],
    ]);
    expect(out).toEqual([0, 1, 2]);
    expect(calls).toEqual([['m0p0', 'm1p0', 'm2p0'], ['m0p1', 'm1p1'], ['m1p2']]);
    expect(batch.stats).toEqual({ groups: 3, passes: 6 });
    // outside `all` a pass runs at once
    await batch.pass('unit0', 0, 'alone', run);
    expect(calls.at(-1)).toEqual(['alone']);
  });

  it('throws the first failure once every member has settled', async () => {
    const batch = new MemberBatch();
    const finished: number[] = [];
    const failing = (list: readonly number[]) => {
      if (list.includes(0)) throw new Error('kernel failed');
    };
    const member = (m: number) => async () => {
      await batch.pass('a', m, m, failing);
      finished.push(m);
    };
    await expect(
      batch.all([
        [0, member(0)],
        [
          1,
          async () => {
            finished.push(1);
          },
        ],
      ]),
    ).rejects.toThrow('kernel failed');
    expect(finished).toEqual([1]);
    // the batch is free again
    expect(await batch.all([[0, async () => 5]])).toEqual([5]);
  });
});
