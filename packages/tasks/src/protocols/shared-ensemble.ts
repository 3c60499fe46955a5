import { type Backend, Ensemble, InputError, type SequenceModelOptions } from '@bistable/core';
import { canonicalJson } from './progress.js';

/**
 * The model every run of an ensemble trains, which must be one: an ensemble's members share
 * their shape (and how they execute), differing only in seed. The error names the first run
 * that differs, and how.
 */
export function sharedModelOptions<C>(
  configs: readonly C[],
  modelOf: (c: C) => Omit<SequenceModelOptions, 'seed'>,
): Omit<SequenceModelOptions, 'seed'> {
  if (configs.length === 0) throw new InputError('an ensemble needs at least one run');
  const first = modelOf(configs[0]);
  for (const [i, c] of configs.entries()) {
    const m = modelOf(c);
    const differs = (Object.keys({ ...first, ...m }) as (keyof typeof m)[]).find(
      (k) => canonicalJson(first[k]) !== canonicalJson(m[k]),
    );
    if (differs) {
      throw new InputError(
        `runs of one ensemble must train models of one shape; run ${i} has ${String(differs)} ${canonicalJson(m[differs])}, run 0 ${canonicalJson(first[differs])}`,
      );
    }
  }
  return first;
}

/** The learning rate of an ensemble's runs, which share one Adam: it must be one. */
export function sharedLr(configs: readonly { lr: number }[]): number {
  const lr = configs[0]?.lr;
  const other = configs.findIndex((c) => c.lr !== lr);
  if (other >= 0) {
    throw new InputError(
      `runs of one ensemble share one Adam and so one learning rate; run ${other} has lr ${configs[other].lr}, run 0 ${lr}`,
    );
  }
  return lr;
}

/**
 * The one Ensemble that runs of one model train in (their seeds its members'), given to `body`
 * and freed after it. `batchPasses`: whether the members' sequence passes run as one where the
 * backend can (Ensemble's option): only for runs whose batches share their shapes, since members
 * of other lengths cannot share a dispatch and their shared workspace would be sized for the
 * longest.
 */
export async function withEnsemble<C extends { modelSeed: number; lr: number }, R>(
  backend: Backend,
  configs: readonly C[],
  modelOf: (c: C) => Omit<SequenceModelOptions, 'seed'>,
  batchPasses: boolean,
  body: (ensemble: Ensemble) => Promise<R>,
): Promise<R> {
  const ensemble = new Ensemble(
    backend,
    sharedModelOptions(configs, modelOf),
    configs.map((c) => c.modelSeed),
    { lr: sharedLr(configs) },
    { batchPasses },
  );
  try {
    return await body(ensemble);
  } finally {
    ensemble.dispose();
  }
}
