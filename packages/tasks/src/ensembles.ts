import { type Backend, checkPositiveInt, InputError } from '@bistable/core';
import {
  type BinaryAdditionConfig,
  type BinaryAdditionResult,
  binaryModelOptions,
  runBinaryAdditionEnsemble,
} from './protocols/binary-addition.js';
import {
  type CopyFirstInputConfig,
  type CopyFirstInputResult,
  copyModelOptions,
  runCopyFirstInputEnsemble,
} from './protocols/copy-first-input.js';
import type { RunHooks } from './protocols/hooks.js';
import { canonicalJson } from './protocols/progress.js';
import type { RunSpec } from './study.js';

/**
 * What runs must share to train as one ensemble: the task, the model their protocol builds (cell,
 * layers, hidden, dtype and how it executes; the seed aside) and the learning rate of their one
 * Adam, as the ensemble runners check them. Data, lengths, seeds, budgets and stopping rules may
 * differ.
 */
export function ensembleKey(spec: RunSpec): string {
  const model =
    spec.task === 'copy-first-input' ? copyModelOptions(spec.config) : binaryModelOptions(spec.config);
  return canonicalJson({ task: spec.task, model, lr: spec.config.lr });
}

/**
 * A study's runs grouped into ensembles: runs with one ensembleKey, in the study's order, at most
 * `maxMembers` to a group (fewer members hold less memory at once and checkpoint sooner). In a
 * binary-addition study these are a cell's repeats; in copy-first-input, a cell's lengths.
 */
export function ensembleGroups(runs: readonly RunSpec[], maxMembers = Number.POSITIVE_INFINITY): RunSpec[][] {
  if (maxMembers !== Number.POSITIVE_INFINITY) checkPositiveInt('ensemble size', maxMembers);
  const byKey = new Map<string, RunSpec[][]>();
  const groups: RunSpec[][] = [];
  for (const r of runs) {
    const k = ensembleKey(r);
    const list = byKey.get(k) ?? [];
    byKey.set(k, list);
    let open = list.at(-1);
    if (!open || open.length >= maxMembers) {
      open = [];
      list.push(open);
      groups.push(open);
    }
    open.push(r);
  }
  return groups;
}

/**
 * Trains runs of one ensembleKey together (runCopyFirstInputEnsemble or
 * runBinaryAdditionEnsemble): one result per run, each equal to the run's solo result.
 */
export async function runEnsemble(
  backend: Backend,
  specs: readonly RunSpec[],
  hooks: readonly RunHooks[] = [],
): Promise<(CopyFirstInputResult | BinaryAdditionResult)[]> {
  if (specs.length === 0) throw new InputError('an ensemble needs at least one run');
  const key = ensembleKey(specs[0]);
  const other = specs.findIndex((s) => ensembleKey(s) !== key);
  if (other >= 0) {
    throw new InputError(
      `runs '${specs[0].id}' and '${specs[other].id}' cannot train as one ensemble: their task, model or learning rate differ`,
    );
  }
  if (specs[0].task === 'copy-first-input') {
    return runCopyFirstInputEnsemble(
      backend,
      specs.map((s) => s.config as CopyFirstInputConfig),
      hooks,
    );
  }
  return runBinaryAdditionEnsemble(
    backend,
    specs.map((s) => s.config as BinaryAdditionConfig),
    hooks,
  );
}
