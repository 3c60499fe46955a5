import { benchEnsemble, type CellName, Ensemble, Rng } from '@bistable/core';
import { worstError } from '@bistable/core/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { WebgpuTfjsBackend } from '../src/webgpu/backend.js';
import { wgslRunner } from '../src/webgpu/runner.js';
import { setRecurrentSplit, setRecurrentSubgroups } from '../src/webgpu/sequence-recurrent.js';
import { ENSEMBLE_LR, ensembleCase } from './ensemble-case.js';
import { logSkip, probe, webgpuBackend } from './webgpu-setup.js';

/**
 * An Ensemble on tfjs-webgpu runs each unit's forward and backward of all its members in one
 * dispatch (SequenceKernels.forwardMany over the members' slabs): bit for bit what the members'
 * own dispatches give, within 1e-5 of their solo runs, and (M − 1) dispatches fewer per pass.
 * Needs a WebGPU adapter (lavapipe in CI).
 */
logSkip('ensemble pass tests');

const [B, I, H, O] = [3, 2, 9, 2];
const seeds = [4, 5, 6];

afterEach(() => {
  setRecurrentSplit(null);
  setRecurrentSubgroups(null);
});

type Batch = {
  x: { shape: number[]; data: Float32Array };
  y: { shape: number[]; data: Float32Array };
} | null;

/** Member i's batch of length lengths[i] (null: it sits the step out). */
function step(rng: Rng, lengths: (number | null)[], B: number): Batch[] {
  return lengths.map((T) =>
    T === null
      ? null
      : {
          x: { shape: [B, T, I], data: Float32Array.from({ length: B * T * I }, () => rng.normal()) },
          y: { shape: [B, O], data: Float32Array.from({ length: B * O }, () => rng.normal()) },
        },
  );
}

async function compare(cell: CellName, plan: (number | null)[][], rows = B, backend?: WebgpuTfjsBackend) {
  const be = backend ?? (await webgpuBackend());
  const { options: o, solo } = ensembleCase(be, cell, { I, H, O }, seeds);
  const batched = new Ensemble(be, o, seeds, { lr: ENSEMBLE_LR });
  const apart = new Ensemble(be, o, seeds, { lr: ENSEMBLE_LR }, { batchPasses: false });
  expect(batched.batch).not.toBeNull();
  expect(apart.batch).toBeNull();
  const rng = new Rng(11);
  // per step: the sequence-pass dispatches of the batched ensemble, of the other, and all of both
  const seqDispatches: [number, number][] = [];
  const totals: [number, number][] = [];
  const runner = wgslRunner();
  const run = runner.run.bind(runner);
  let seq = 0;
  runner.run = (spec) => {
    if (spec.key.startsWith('seq-fwd') || spec.key.startsWith('seq-bwd')) seq++;
    run(spec);
  };
  try {
    // each shape twice: the dispatches of its second step (the first may allocate and upload)
    for (const lengths of plan.flatMap((l) => [l, l])) {
      const data = step(rng, lengths, rows);
      seq = 0;
      let c0 = be.counters().dispatches;
      const got = await batched.trainStep(data);
      const nBatched = be.counters().dispatches - c0;
      const seqBatched = seq;
      seq = 0;
      c0 = be.counters().dispatches;
      const ref = await apart.trainStep(data);
      seqDispatches.push([seqBatched, seq]);
      totals.push([nBatched, be.counters().dispatches - c0]);
      for (const [i, s] of solo.entries()) {
        const b = data[i];
        if (!b) {
          expect(got[i]).toBeNull();
          continue;
        }
        // the same kernels' arithmetic, one dispatch for all: equal, not merely close
        expect(got[i]!.loss).toBe(ref[i]!.loss);
        const want = await s.model.trainStep(b.x, b.y, s.adam);
        expect(Math.abs(got[i]!.loss - want.loss) / want.loss).toBeLessThan(1e-5);
      }
    }
    for (const [i, s] of solo.entries()) {
      const got = await batched.members[i].getParameters();
      const ref = await apart.members[i].getParameters();
      const want = await s.model.getParameters();
      for (const k of Object.keys(want)) {
        expect(Array.from(got[k].data), `member ${i} ${k}`).toEqual(Array.from(ref[k].data));
        expect(worstError(got[k].data, want[k].data), `member ${i} ${k}`).toBeLessThan(1e-5);
      }
      s.model.dispose();
      s.adam.dispose();
    }
  } finally {
    runner.run = run;
  }
  const stats = { ...batched.batch!.stats };
  batched.dispose();
  apart.dispose();
  // the second step of each shape (its first may allocate, upload and compile)
  const second = <X>(xs: X[]) => xs.filter((_, k) => k % 2 === 1);
  return { seq: second(seqDispatches), totals: second(totals), stats };
}

describe.skipIf(!probe.ok)(
  'tfjs-webgpu: an ensemble runs each pass of all its members in one dispatch',
  () => {
    for (const cell of ['BRC', 'nBRC', 'GRU', 'LSTM'] as CellName[]) {
      it(`${cell}: equal to the members' own dispatches, and (M − 1) fewer per pass`, async () => {
        // all three; 0 and 2 (a run at twice the stride); all three at another length; lengths
        // that differ (no run: each member alone)
        const { seq, totals, stats } = await compare(cell, [
          [5, 5, 5],
          [5, null, 5],
          [8, 8, 8],
          [5, 7, 5],
        ]);
        // 2 layers × (forward, backward) per step: once for all members taking part, where their
        // shapes agree
        expect(seq).toEqual([
          [4, 12],
          [4, 8],
          [4, 12],
          [12, 12],
        ]);
        // besides, each layer's input projection and layer 1's input gradient are one grouped
        // GEMM for all members taking part, whatever their lengths, and the readouts one dispatch
        // where their lengths agree
        const active = [3, 2, 3, 3];
        for (const [k, [batchedAll, apartAll]] of totals.entries())
          expect(apartAll - batchedAll, `step ${k}`).toBeGreaterThanOrEqual(
            seq[k][1] - seq[k][0] + (k === 3 ? 3 : 4) * (active[k] - 1),
          );
        // the members meet at every pass, GEMM and readout above (8 steps × 8); the backend
        // splits a meeting whose shapes differ into runs of one
        expect(stats).toEqual({ groups: 8 * 8, passes: 2 * 8 * (3 + 2 + 3 + 3) });
      });
    }

    it('BRC with more rows than one workgroup sums (its parameter gradients reduced per member)', async () => {
      const { seq } = await compare('BRC', [[3, 3, 3]], 300);
      expect(seq).toEqual([[4, 12]]);
    });

    it('with the recurrent product split over threads (in subgroups where the device has them, and not)', async () => {
      for (const subgroups of [true, false]) {
        setRecurrentSplit(4);
        setRecurrentSubgroups(subgroups);
        const { seq } = await compare('GRU', [
          [4, 4, 4],
          [6, 6, null],
        ]);
        expect(seq).toEqual([
          [4, 12],
          [4, 8],
        ]);
      }
    });
  },
);

describe.skipIf(!probe.ok)('tfjs-webgpu: the ensemble bench', () => {
  it('says its passes ran batched, and counts fewer dispatches', async () => {
    const be = await webgpuBackend();
    const size = {
      cell: 'nBRC',
      seqLen: 4,
      batch: 2,
      hidden: 8,
      layers: 2,
      members: 3,
      steps: 1,
      warmup: 1,
    } as const;
    const [together, apart] = await benchEnsemble(be, size);
    expect([together.passesBatched, apart.passesBatched]).toEqual([true, false]);
    // a step of 3 models in about one model's dispatches (see webgpu-ensemble.test.ts)
    expect(together.device!.dispatches).toBeLessThanOrEqual(apart.device!.dispatches / 3 + 2);
  });
});

describe.skipIf(!probe.ok)('tfjs-webgpu: an ensemble near the largest buffer', () => {
  it('runs apart the passes of buffers whose shared parent would exceed it, each member still equal to its solo run', async () => {
    await webgpuBackend();
    // GRU's cache (T·B·4H floats = 2160 bytes at these sizes) fits one member, not three
    const be = new WebgpuTfjsBackend('tfjs-webgpu', { maxBufferBytes: 4000 });
    const { seq } = await compare('GRU', [[5, 5, 5]], B, be);
    // the forward and backward bind the cache: every member alone
    expect(seq).toEqual([[12, 12]]);
  });
});
