import {
  batchCount,
  type CellName,
  checkPositiveInt,
  deriveSeed,
  InputError,
  type ModelSize,
  trainingMultiplyAdds,
} from '@bistable/core';
import { cellName, dtypeName, positiveNumber, seedValue } from './checks.js';
import { type BinaryAdditionConfig, checkBinaryAdditionConfig } from './protocols/binary-addition.js';
import { type CopyFirstInputConfig, checkCopyFirstInputConfig } from './protocols/copy-first-input.js';

/** The two validation studies. */
export const TASKS = ['copy-first-input', 'binary-addition'] as const;
/** One of TASKS. */
export type TaskName = (typeof TASKS)[number];

/** `v` as a TaskName, or an InputError listing the tasks. */
export function taskName(v: unknown): TaskName {
  const hit = TASKS.find((t) => t === v);
  if (!hit) throw new InputError(`unknown task '${String(v)}'; expected one of ${TASKS.join(', ')}`);
  return hit;
}

/**
 * Settings a run takes from its study as they are; the rest vary per run, derive from `seed`, or
 * (maxLevel, microBatch) only change how a run executes, not what it computes.
 */
type Shared<C> = Omit<C, 'cell' | 'layers' | 'length' | 'dataSeed' | 'modelSeed' | 'maxLevel' | 'microBatch'>;

/** Every setting of a copy-first-input study: the runs are cells × lengths × layer counts. */
export interface CopyFirstInputStudy extends Shared<CopyFirstInputConfig> {
  task: 'copy-first-input';
  cells: CellName[];
  lengths: number[];
  layers: number[];
  seed: number;
}

/** Every setting of a binary-addition study: the runs are cells × layer counts × repeats. */
export interface BinaryAdditionStudy extends Shared<BinaryAdditionConfig> {
  task: 'binary-addition';
  cells: CellName[];
  layers: number[];
  repeats: number;
  seed: number;
}

/** A study of either task: the cells, sizes and seeds whose runs `planRuns` lists. */
export type Study = CopyFirstInputStudy | BinaryAdditionStudy;

/** One run of a study: its folder-safe id, its task and the configuration its protocol takes. */
export type RunSpec =
  | { id: string; task: 'copy-first-input'; config: CopyFirstInputConfig }
  | { id: string; task: 'binary-addition'; config: BinaryAdditionConfig };

/** Folder-safe run names: `nBRC-T5-2L` (copy-first-input), `nBRC-1L-r0` (binary addition). */
export function copyRunId(cell: string, length: number, layers: number): string {
  return `${cell}-T${length}-${layers}L`;
}
/** A binary-addition run's folder-safe name, `nBRC-1L-r0` (see copyRunId). */
export function binaryRunId(cell: string, layers: number, repeat: number): string {
  return `${cell}-${layers}L-r${repeat}`;
}

function nonEmpty<T>(name: string, list: T[]): T[] {
  if (!Array.isArray(list) || list.length === 0) throw new InputError(`${name} must list at least one value`);
  if (new Set(list).size !== list.length)
    throw new InputError(`${name} lists a value twice: ${list.join(', ')}`);
  return list;
}

/**
 * The independent runs of a study, each with its own seeds derived from the study's seed and the
 * names of the run. Cells of one length (or repeat) share their data, so they are compared on the
 * same samples; each model has its own initial weights.
 */
export function planRuns(study: Study): RunSpec[] {
  seedValue('seed', study.seed);
  for (const c of nonEmpty('cells', study.cells)) cellName(c);
  for (const l of nonEmpty('layers', study.layers)) checkPositiveInt('layers', l);
  checkPositiveInt('hidden', study.hidden);
  positiveNumber('lr', study.lr);
  dtypeName(study.dtype);
  const cells = study.cells.map(cellName);
  const runs: RunSpec[] = [];
  const base = { hidden: study.hidden, lr: study.lr, dtype: study.dtype };
  if (study.task === 'copy-first-input') {
    nonEmpty('lengths', study.lengths).forEach((T) => {
      if (!Number.isInteger(T) || T < 2)
        throw new InputError(`copy-first-input needs lengths T >= 2, got ${String(T)}`);
    });
    for (const length of study.lengths) {
      for (const layers of study.layers) {
        for (const cell of cells) {
          runs.push({
            id: copyRunId(cell, length, layers),
            task: 'copy-first-input',
            config: {
              ...base,
              cell,
              length,
              layers,
              samples: study.samples,
              testSamples: study.testSamples,
              batchSize: study.batchSize,
              maxEpochs: study.maxEpochs,
              threshold: study.threshold,
              dataSeed: deriveSeed(study.seed, study.task, 'data', length),
              modelSeed: deriveSeed(study.seed, study.task, 'model', cell, length, layers),
            },
          });
        }
      }
    }
    for (const r of runs) checkCopyFirstInputConfig(r.config as CopyFirstInputConfig);
    return runs;
  }
  checkPositiveInt('repeats', study.repeats);
  for (let repeat = 0; repeat < study.repeats; repeat++) {
    for (const layers of study.layers) {
      for (const cell of cells) {
        runs.push({
          id: binaryRunId(cell, layers, repeat),
          task: 'binary-addition',
          config: {
            ...base,
            cell,
            layers,
            trainMin: study.trainMin,
            trainMax: study.trainMax,
            epochsPerLength: study.epochsPerLength,
            trainSamples: study.trainSamples,
            validSamples: study.validSamples,
            batchSize: study.batchSize,
            testMin: study.testMin,
            testMax: study.testMax,
            testSamples: study.testSamples,
            dataSeed: deriveSeed(study.seed, study.task, 'data', repeat),
            modelSeed: deriveSeed(study.seed, study.task, 'model', cell, layers, repeat),
          },
        });
      }
    }
  }
  for (const r of runs) checkBinaryAdditionConfig(r.config as BinaryAdditionConfig);
  return runs;
}

/** The most gradient steps a run can take (early stopping may end it sooner). */
export function plannedSteps(spec: RunSpec): number {
  if (spec.task === 'copy-first-input') {
    const c = spec.config;
    return batchCount(c.samples - c.testSamples, c.batchSize) * c.maxEpochs;
  }
  const c = spec.config;
  return (c.trainMax - c.trainMin + 1) * c.epochsPerLength * batchCount(c.trainSamples, c.batchSize);
}

/**
 * The model a run trains and its largest batch: what sizes its memory (binary addition tests up
 * to `testMax`, so its longest sequence is there).
 */
export function runModelSize(spec: RunSpec): ModelSize & { batch: number; seqLen: number } {
  const c = spec.config;
  const copy = spec.task === 'copy-first-input';
  return {
    cell: c.cell,
    inputSize: copy ? 1 : 2,
    hiddenSize: c.hidden,
    numLayers: c.layers,
    outputSize: 1,
    dtype: c.dtype,
    // micro-batches bound the activations a pass holds at once
    batch: c.microBatch ? Math.min(c.batchSize, c.microBatch) : c.batchSize,
    seqLen: copy ? spec.config.length : Math.max(spec.config.trainMax, spec.config.testMax) + 1,
  };
}

/**
 * Multiply-adds of one training step of a run (binary addition at its curriculum's mean length):
 * with a measured rate for one run, what predicts the time of another.
 */
export function stepWork(spec: RunSpec): number {
  const m = runModelSize(spec);
  return trainingMultiplyAdds({
    cell: m.cell,
    inputSize: m.inputSize,
    hidden: m.hiddenSize,
    layers: m.numLayers ?? 1,
    batch: spec.config.batchSize,
    seqLen:
      spec.task === 'copy-first-input'
        ? spec.config.length
        : (spec.config.trainMin + spec.config.trainMax) / 2 + 1,
  });
}
