import { InputError } from '../backend/errors.js';
import type { Ensemble } from '../models/ensemble.js';
import { betweenSteps } from './abort.js';
import type { FitData } from './data.js';
import { FitRun, type PlannedBatch } from './fit-run.js';
import type { History } from './history.js';
import type { FitOptions } from './options.js';

/** One member's part of `fitEnsemble`: its data and its fit options (without schedule or clipping). */
export interface EnsembleFitMember {
  train: FitData;
  options: Omit<FitOptions, 'schedule' | 'clipNorm' | 'clipValue'>;
}

/**
 * `fit` for every member of an ensemble at once: member i trains on `members[i].train` with its
 * own options (epochs, batch size, order seed, validation, callbacks), and every step trains all
 * members that still train together (Ensemble.trainStep). A member whose onEpochEnd says 'stop',
 * or whose epochs are done, sits out the steps that follow while the others go on. Each member's
 * history, callbacks and numbers are those of `fit` on that member alone. Members may differ in
 * data and in epochs; a step schedule or gradient clipping would differ per member and is refused.
 * A null member sits the whole fit out (its history is null). Returns one History per member.
 *
 * @example
 * ```ts
 * import { Ensemble, fitEnsemble, getBackend } from '@bistable/core';
 * import { CopyFirstInput } from '@bistable/tasks';
 *
 * const backend = await getBackend('cpu');
 * const ensemble = new Ensemble(
 *   backend,
 *   { cell: 'nBRC', inputSize: 1, hiddenSize: 16, readout: 'last', loss: 'mse' },
 *   [1, 2], // two seeds
 *   { lr: 0.01 },
 * );
 * const histories = await fitEnsemble(ensemble, [1, 2].map((seed) => ({
 *   train: new CopyFirstInput(seed, 5, 512),
 *   options: {
 *     epochs: 4,
 *     batchSize: 32,
 *     seed,
 *     validationData: new CopyFirstInput(seed, 5, 128, 512),
 *     // each member stops on its own
 *     callbacks: { onEpochEnd: ({ validLoss }) => ((validLoss ?? 1) < 0.05 ? 'stop' : undefined) },
 *   },
 * })));
 * console.log(histories.map((h) => h?.validLoss.at(-1)));
 * ensemble.dispose();
 * ```
 */
export async function fitEnsemble(
  ensemble: Ensemble,
  members: readonly (EnsembleFitMember | null)[],
): Promise<(History | null)[]> {
  if (!Array.isArray(members) || members.length !== ensemble.members.length) {
    throw new InputError(
      `fitEnsemble needs one {train, options} per member (${ensemble.members.length}), got ${Array.isArray(members) ? members.length : String(members)}`,
    );
  }
  const runs = members.map((m, i) => {
    if (m === null) return null;
    for (const k of ['schedule', 'clipNorm', 'clipValue'] as const) {
      if ((m.options as FitOptions | undefined)?.[k] !== undefined) {
        throw new InputError(
          `fitEnsemble: member ${i} sets '${k}', which an ensemble's shared step cannot honour`,
        );
      }
    }
    return new FitRun(ensemble.members[i], ensemble.memberOptimizer(i), m.train, m.options as FitOptions);
  });
  let current: FitRun | null = null;
  try {
    const training: boolean[] = [];
    for (const run of runs) {
      current = run;
      if (run) await run.begin();
      training.push(run ? await run.startEpoch() : false);
    }
    for (;;) {
      const batches: (PlannedBatch | null)[] = [];
      for (const [i, run] of runs.entries()) {
        current = run;
        let b = run && training[i] ? run.nextBatch() : null;
        // a member whose epoch just ended validates, and starts its next epoch unless it is done
        while (run && training[i] && !b) {
          training[i] = (await run.endEpoch()) && (await run.startEpoch());
          b = training[i] ? run.nextBatch() : null;
        }
        batches.push(b);
      }
      if (batches.every((b) => b === null)) break;
      for (const [i, run] of runs.entries()) {
        current = run;
        if (run && batches[i]) await betweenSteps(run.signal);
      }
      current = null;
      const results = await ensemble.trainStep(batches.map((b) => (b ? { x: b.x, y: b.y } : null)));
      for (const [i, run] of runs.entries()) {
        const b = batches[i];
        const r = results[i];
        current = run;
        if (run && b && r) await run.batchDone(b, r);
      }
    }
    const out: (History | null)[] = [];
    for (const run of runs) {
      current = run;
      out.push(run ? await run.end() : null);
    }
    return out;
  } catch (err) {
    throw current ? current.attachTo(err) : err;
  }
}
