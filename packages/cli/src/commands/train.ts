import { join } from 'node:path';
import { cellName, planRuns, preset, type RunSpec, type Study, taskName } from '@bistable/tasks';
import type { Command } from 'commander';
import { CliError } from '../exit-codes.js';
import { executeStudy } from '../studies/execute-study.js';
import { dtypeOption, nonNegativeInt, positiveInt, positiveNumber, usage } from '../studies/options.js';
import { printStudySummary } from '../studies/print-summary.js';

interface TrainOptions {
  cell: string;
  preset: string;
  length?: string;
  layers?: string;
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
  microBatch?: string;
  backend: string;
  seed: string;
  out?: string;
  resume?: boolean;
  json?: boolean;
}

/** `3..20` → [3, 20]. */
function range(name: string, text: string): [number, number] {
  const m = /^\s*(\d+)\s*\.\.\s*(\d+)\s*$/.exec(text);
  if (!m) throw new CliError(`${name} must be a range like 3..20, got '${text}'`);
  const [lo, hi] = [Number(m[1]), Number(m[2])];
  if (hi < lo) throw new CliError(`${name}: ${hi} is below ${lo}`);
  return [lo, hi];
}

const onlyFor = (flag: string, task: string) => new CliError(`${flag} applies to ${task} only`);

/** The one-run study `train` runs: a preset's sizes with every given setting changed. */
export function trainStudy(task: string, o: TrainOptions): Study {
  const t = usage(() => taskName(task));
  const study = usage(() => preset(t, o.preset));
  const cell = usage(() => cellName(o.cell));
  study.cells = [cell];
  study.seed = nonNegativeInt('--seed', o.seed);
  study.layers = [o.layers === undefined ? study.layers[0] : positiveInt('--layers', o.layers)];
  if (o.hidden !== undefined) study.hidden = positiveInt('--hidden', o.hidden);
  if (o.batch !== undefined) study.batchSize = positiveInt('--batch', o.batch);
  if (o.lr !== undefined) study.lr = positiveNumber('--lr', o.lr);
  if (o.dtype !== undefined) study.dtype = dtypeOption('--dtype', o.dtype);
  if (study.task === 'copy-first-input') {
    if (o.validSamples !== undefined) throw onlyFor('--valid-samples', 'binary-addition');
    if (o.trainLengths !== undefined) throw onlyFor('--train-lengths', 'binary-addition');
    if (o.testLengths !== undefined) throw onlyFor('--test-lengths', 'binary-addition');
    study.lengths = [o.length === undefined ? study.lengths[0] : Number(o.length)];
    if (o.samples !== undefined) study.samples = positiveInt('--samples', o.samples);
    if (o.testSamples !== undefined) study.testSamples = positiveInt('--test-samples', o.testSamples);
    if (o.epochs !== undefined) study.maxEpochs = positiveInt('--epochs', o.epochs);
    if (o.threshold !== undefined) study.threshold = positiveNumber('--threshold', o.threshold);
    return study;
  }
  if (o.length !== undefined) throw onlyFor('--length', 'copy-first-input');
  if (o.threshold !== undefined) throw onlyFor('--threshold', 'copy-first-input');
  study.repeats = 1;
  if (o.samples !== undefined) study.trainSamples = positiveInt('--samples', o.samples);
  if (o.validSamples !== undefined) study.validSamples = positiveInt('--valid-samples', o.validSamples);
  if (o.testSamples !== undefined) study.testSamples = positiveInt('--test-samples', o.testSamples);
  if (o.epochs !== undefined) study.epochsPerLength = positiveInt('--epochs', o.epochs);
  if (o.trainLengths !== undefined)
    [study.trainMin, study.trainMax] = range('--train-lengths', o.trainLengths);
  if (o.testLengths !== undefined) [study.testMin, study.testMax] = range('--test-lengths', o.testLengths);
  return study;
}

/** The runs of a `train` study, with --micro-batch (an execution setting, not part of the study). */
export function trainRuns(study: Study, o: Pick<TrainOptions, 'microBatch'>): RunSpec[] {
  const microBatch = o.microBatch === undefined ? undefined : positiveInt('--micro-batch', o.microBatch);
  const runs = usage(() => planRuns(study));
  if (microBatch !== undefined) for (const r of runs) r.config.microBatch = microBatch;
  return runs;
}

export function registerTrainCommand(program: Command): void {
  program
    .command('train')
    .description(
      'train one cell on one task (copy-first-input or binary-addition), on any backend, with any settings',
    )
    .argument('<task>', 'copy-first-input or binary-addition')
    .requiredOption('--cell <name>', 'BRC, nBRC, GRU or LSTM')
    .option('--preset <name>', "defaults for every setting not given: 'paper' or 'quick'", 'paper')
    .option('--length <T>', 'copy-first-input: sequence length (>= 2)')
    .option('--layers <n>', 'layers')
    .option('--hidden <n>', 'hidden units per layer')
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
    .option('--dtype <dtype>', 'float32 or float64')
    .option(
      '--micro-batch <n>',
      "most rows per forward/backward pass, gradients accumulated (default: what the backend's buffer limit allows)",
    )
    .option('--backend <name>', "backend name, or 'auto'", 'auto')
    .option('--seed <n>', 'seed; data and weights derive from it', '0')
    .option('--out <dir>', 'results folder (default: results/train-<task>-<cell>)')
    .option('--resume', 'continue the run in --out from its last checkpoint')
    .option('--json', 'print a machine-readable summary on stdout')
    .action(async (task: string, o: TrainOptions) => {
      const study = trainStudy(task, o);
      const runs = trainRuns(study, o);
      const summary = await executeStudy({
        command: 'train',
        preset: o.preset,
        study,
        runs,
        out: o.out ?? join('results', `train-${study.task}-${study.cells[0]}`),
        backend: o.backend,
        workers: 1,
        resume: Boolean(o.resume),
        plot: false,
        json: Boolean(o.json),
      });
      if (o.json) console.log(JSON.stringify(summary, null, 2));
      else printStudySummary(summary);
    });
}
