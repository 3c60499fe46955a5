import type { Study } from '@bistable/tasks';
import type { Command } from 'commander';
import { CliError } from '../exit-codes.js';
import { dtypeOption, positiveInt, positiveNumber } from './options.js';

/**
 * The settings that size a study's runs, shared by `train` (one run) and `reproduce` (a whole
 * study): a preset's values with the command line's changes. `reproduce` uses them to shorten a
 * study's budget and data while keeping its protocol.
 */
export interface SizeOptions {
  hidden?: string;
  samples?: string;
  testSamples?: string;
  validSamples?: string;
  batch?: string;
  epochs?: string;
  threshold?: string;
  trainLengths?: string;
  testLengths?: string;
  lr?: string;
  dtype?: string;
}

export function addSizeOptions(cmd: Command): Command {
  return cmd
    .option('--hidden <n>', "hidden units per layer (default: the preset's)")
    .option(
      '--samples <n>',
      'copy-first-input: all samples (train + test); binary-addition: training samples per length',
    )
    .option('--test-samples <n>', 'copy-first-input: test split; binary-addition: test samples per length')
    .option('--valid-samples <n>', 'binary-addition: validation samples per length')
    .option('--batch <n>', 'batch size')
    .option('--epochs <n>', 'copy-first-input: most epochs; binary-addition: epochs per curriculum length')
    .option('--threshold <mse>', 'copy-first-input: early stop below this test MSE')
    .option('--train-lengths <a..b>', 'binary-addition: curriculum, e.g. 3..20')
    .option('--test-lengths <a..b>', 'binary-addition: test lengths, e.g. 3..60')
    .option('--lr <rate>', 'Adam learning rate')
    .option('--dtype <dtype>', 'float32 or float64');
}

/** `3..20` → [3, 20]. */
function range(name: string, text: string): [number, number] {
  const m = /^\s*(\d+)\s*\.\.\s*(\d+)\s*$/.exec(text);
  if (!m) throw new CliError(`${name} must be a range like 3..20, got '${text}'`);
  const [lo, hi] = [Number(m[1]), Number(m[2])];
  if (hi < lo) throw new CliError(`${name}: ${hi} is below ${lo}`);
  return [lo, hi];
}

export const onlyFor = (flag: string, task: string) => new CliError(`${flag} applies to ${task} only`);

/** Changes `study` in place by every size option given; a flag of the other task is an error. */
export function applySizeOptions(study: Study, o: SizeOptions): void {
  if (o.hidden !== undefined) study.hidden = positiveInt('--hidden', o.hidden);
  if (o.batch !== undefined) study.batchSize = positiveInt('--batch', o.batch);
  if (o.lr !== undefined) study.lr = positiveNumber('--lr', o.lr);
  if (o.dtype !== undefined) study.dtype = dtypeOption('--dtype', o.dtype);
  if (study.task === 'copy-first-input') {
    if (o.validSamples !== undefined) throw onlyFor('--valid-samples', 'binary-addition');
    if (o.trainLengths !== undefined) throw onlyFor('--train-lengths', 'binary-addition');
    if (o.testLengths !== undefined) throw onlyFor('--test-lengths', 'binary-addition');
    if (o.samples !== undefined) study.samples = positiveInt('--samples', o.samples);
    if (o.testSamples !== undefined) study.testSamples = positiveInt('--test-samples', o.testSamples);
    if (o.epochs !== undefined) study.maxEpochs = positiveInt('--epochs', o.epochs);
    if (o.threshold !== undefined) study.threshold = positiveNumber('--threshold', o.threshold);
    return;
  }
  if (o.threshold !== undefined) throw onlyFor('--threshold', 'copy-first-input');
  if (o.samples !== undefined) study.trainSamples = positiveInt('--samples', o.samples);
  if (o.validSamples !== undefined) study.validSamples = positiveInt('--valid-samples', o.validSamples);
  if (o.testSamples !== undefined) study.testSamples = positiveInt('--test-samples', o.testSamples);
  if (o.epochs !== undefined) study.epochsPerLength = positiveInt('--epochs', o.epochs);
  if (o.trainLengths !== undefined)
    [study.trainMin, study.trainMax] = range('--train-lengths', o.trainLengths);
  if (o.testLengths !== undefined) [study.testMin, study.testMax] = range('--test-lengths', o.testLengths);
}
