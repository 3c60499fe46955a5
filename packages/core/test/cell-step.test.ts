import { describe, expect, it } from 'vitest';
import { Cell, getBackend, MultiLayerRNN } from '../src/index.js';
import { bundledGoldenPath, type GoldenTensor, loadGolden } from '../src/testing/index.js';
import { maxRelErr, swap01 } from './helpers.js';

const golden = await loadGolden(bundledGoldenPath());
const be = await getBackend('reference');
const TOL = 1e-12;

/** Step t of a [B, T, H] tensor, as [B, H]. */
function stepOf(t: GoldenTensor, s: number): number[] {
  const [B, T, H] = t.shape;
  const out: number[] = [];
  for (let b = 0; b < B; b++) out.push(...t.data.slice((b * T + s) * H, (b * T + s + 1) * H));
  return out;
}

describe('Cell.step on the oracle cell cases', () => {
  it.each(golden.cells.map((g) => [g.id, g] as const))(
    '%s: each step reproduces h_seq (and c_seq)',
    async (_, g) => {
      const cell = new Cell(be, {
        cell: g.cell,
        inputSize: g.input_size,
        hiddenSize: g.hidden_size,
        dtype: 'float64',
      });
      const params: Record<string, GoldenTensor> = {};
      for (const [k, v] of Object.entries(g.params)) params[k] = v;
      cell.setParameters(params);
      const B = g.batch;
      const H = g.hidden_size;
      let h: { shape: number[]; data: ArrayLike<number> } = { shape: [B, H], data: g.h0.data };
      let c = g.c0 ? { shape: [B, H], data: g.c0.data as ArrayLike<number> } : undefined;
      for (let s = 0; s < g.seq_len; s++) {
        const out = await cell.step({ shape: [B, g.input_size], data: stepOf(g.x, s) }, h, c);
        expect(out.h.shape).toEqual([B, H]);
        expect(maxRelErr(out.h.data, stepOf(g.h_seq, s)), `h at step ${s}`).toBeLessThan(TOL);
        if (g.c_seq) {
          expect(maxRelErr(out.c!.data, stepOf(g.c_seq, s)), `c at step ${s}`).toBeLessThan(TOL);
        } else {
          expect(out.c).toBeNull();
        }
        h = out.h;
        c = out.c ?? undefined;
      }
      // its parameters come back under the cell's own names
      const back = await cell.getParameters();
      expect(Object.keys(back).sort()).toEqual([...g.param_names].sort());
      cell.dispose();
    },
  );
});

describe('MultiLayerRNN layouts', () => {
  it.each(golden.multilayer.map((g) => [g.id, g] as const))(
    '%s: batchFirst=false gives the same numbers transposed, forward and backward',
    async (_, g) => {
      const rnn = new MultiLayerRNN(be, {
        cell: g.mode,
        inputSize: g.input_size,
        hiddenSize: g.hidden_size,
        numLayers: g.layers,
        bidirectional: g.bidirectional,
        batchFirst: false,
        dtype: 'float64',
      });
      rnn.setParameters(g.params);
      const out = await rnn.forward(swap01(g.x), { h: g.h0, c: g.c0 });
      expect(out.output.shape).toEqual([g.seq_len, g.batch, (g.bidirectional ? 2 : 1) * g.hidden_size]);
      expect(maxRelErr(out.output.data, swap01(g.output).data)).toBeLessThan(TOL);
      expect(maxRelErr(out.hN.data, g.h_n.data)).toBeLessThan(TOL);
      if (g.c_n) expect(maxRelErr(out.cN!.data, g.c_n.data)).toBeLessThan(TOL);
      const grads = await rnn.backward({ output: swap01(g.coef) });
      expect(grads.x!.shape).toEqual([g.seq_len, g.batch, g.input_size]);
      expect(maxRelErr(grads.x!.data, swap01(g.grads.x).data)).toBeLessThan(1e-10);
      expect(maxRelErr(grads.h0.data, g.grads.h0.data)).toBeLessThan(1e-10);
      rnn.dispose();
    },
  );

  it.each(golden.multilayer.map((g) => [g.id, g] as const))(
    '%s: returnSequences=false returns h_n[-nd:]',
    async (_, g) => {
      const nd = g.bidirectional ? 2 : 1;
      const rnn = new MultiLayerRNN(be, {
        cell: g.mode,
        inputSize: g.input_size,
        hiddenSize: g.hidden_size,
        numLayers: g.layers,
        bidirectional: g.bidirectional,
        returnSequences: false,
        dtype: 'float64',
      });
      rnn.setParameters(g.params);
      const out = await rnn.forward(g.x, { h: g.h0, c: g.c0 });
      const BH = g.batch * g.hidden_size;
      expect(out.output.shape).toEqual([nd, g.batch, g.hidden_size]);
      const tail = g.h_n.data.slice(g.h_n.data.length - nd * BH);
      expect(maxRelErr(out.output.data, tail)).toBeLessThan(TOL);
      const oracle = g.last_only ?? g.last_only_h;
      if (oracle) expect(maxRelErr(out.output.data, oracle.data)).toBeLessThan(TOL);
      rnn.dispose();
    },
  );
});
