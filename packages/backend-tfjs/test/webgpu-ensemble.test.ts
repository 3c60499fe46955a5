import type { Adam, Backend, CellName, SequenceModel } from '@bistable/core';
import { Ensemble, Rng } from '@bistable/core';
import { worstError } from '@bistable/core/testing';
import { describe, expect, it } from 'vitest';
import { ENSEMBLE_LR, ensembleCase } from './ensemble-case.js';
import { logSkip, probe, webgpuBackend } from './webgpu-setup.js';

/**
 * Core's Ensemble on tfjs-webgpu: its members train as their solo runs do (float32), and a step
 * of all members takes about the dispatches of one model's step. Needs a WebGPU adapter
 * (lavapipe in CI).
 */
logSkip('ensemble tests');

const [B, T, I, H, O] = [4, 6, 2, 8, 1];
const seeds = [1, 2, 3];

/** Member i's batches of length lengths[i]. */
function data(steps: number, lengths = seeds.map(() => T)) {
  const rng = new Rng(7);
  return Array.from({ length: steps }, () =>
    lengths.map((T) => ({
      x: { shape: [B, T, I], data: Float32Array.from({ length: B * T * I }, () => rng.normal()) },
      y: { shape: [B, O], data: Float32Array.from({ length: B * O }, () => rng.normal()) },
    })),
  );
}

/** An ensemble of `cell` models, one per seed, and each seed's model trained alone. */
function ensembleAndSolo(be: Backend, cell: CellName) {
  const { options, solo } = ensembleCase(be, cell, { I, H, O }, seeds);
  return { ens: new Ensemble(be, options, seeds, { lr: ENSEMBLE_LR }), solo };
}

/** Every member's weights within 1e-5 of its solo run's; frees both. */
async function expectSoloWeights(ens: Ensemble, solo: { model: SequenceModel; adam: Adam }[]) {
  for (const [i, s] of solo.entries()) {
    const want = await s.model.getParameters();
    const got = await ens.members[i].getParameters();
    for (const k of Object.keys(want))
      expect(worstError(got[k].data, want[k].data), `member ${i} ${k}`).toBeLessThan(1e-5);
    s.model.dispose();
    s.adam.dispose();
  }
  ens.dispose();
}

describe.skipIf(!probe.ok)('tfjs-webgpu: an Ensemble', () => {
  for (const cell of ['nBRC', 'GRU'] as CellName[]) {
    it(`${cell}: every member trains as its solo run, in fewer dispatches than the solo steps`, async () => {
      const be = await webgpuBackend();
      const { ens, solo } = ensembleAndSolo(be, cell);
      let ensDispatches = 0;
      let soloDispatches = 0;
      for (const step of data(3)) {
        let c0 = be.counters().dispatches;
        const got = await ens.trainStep(step);
        ensDispatches = be.counters().dispatches - c0;
        c0 = be.counters().dispatches;
        for (const [i, s] of solo.entries()) {
          const want = await s.model.trainStep(step[i].x, step[i].y, s.adam);
          expect(Math.abs(got[i]!.loss - want.loss) / want.loss).toBeLessThan(1e-5);
        }
        soloDispatches = be.counters().dispatches - c0;
      }
      await expectSoloWeights(ens, solo);
      console.log(
        `[tfjs-webgpu] ${cell}: a step of ${seeds.length} members, ${ensDispatches} dispatches; solo, ${soloDispatches}`,
      );
      // about one model's step for all members: each layer's passes, projections and input
      // gradients, the readouts and Adam run once for all of them; at this size only the
      // weight-gradient GEMMs may pack into another group or two (at binary addition's paper
      // sizes, three: 15 against 12, see the committed bench runs)
      expect(ensDispatches).toBeLessThanOrEqual(soloDispatches / seeds.length + 2);
    });
  }

  it('members of other sequence lengths, some sitting steps out, train as their solo runs', async () => {
    const be = await webgpuBackend();
    const { ens, solo } = ensembleAndSolo(be, 'BRC');
    // every member; 0 and 2 (apart in the arena); 1 and 2 (unequal step counts)
    const plan = [
      [true, true, true],
      [true, false, true],
      [false, true, true],
    ];
    for (const [k, step] of data(3, [6, 9, 4]).entries()) {
      const got = await ens.trainStep(step.map((b, i) => (plan[k][i] ? b : null)));
      for (const [i, s] of solo.entries()) {
        if (!plan[k][i]) {
          expect(got[i]).toBeNull();
          continue;
        }
        const want = await s.model.trainStep(step[i].x, step[i].y, s.adam);
        expect(Math.abs(got[i]!.loss - want.loss) / want.loss, `step ${k} member ${i}`).toBeLessThan(1e-5);
      }
    }
    await expectSoloWeights(ens, solo);
  });
});
