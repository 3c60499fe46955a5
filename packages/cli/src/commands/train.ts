import { join } from 'node:path';
import { cellName, planRuns, preset, type RunSpec, type Study, taskName } from '@bistable/tasks';
import type { Command } from 'commander';
import { executeStudy } from '../studies/execute-study.js';
import { nonNegativeInt, positiveInt, usage } from '../studies/options.js';
import { printStudySummary } from '../studies/print-summary.js';
import { addSizeOptions, applySizeOptions, onlyFor, type SizeOptions } from '../studies/size-options.js';

interface TrainOptions extends SizeOptions {
  cell: string;
  preset: string;
  length?: string;
  layers?: string;
  microBatch?: string;
  backend: string;
  seed: string;
  out?: string;
  resume?: boolean;
  json?: boolean;
}

/** The one-run study `train` runs: a preset's sizes with every given setting changed. */
export function trainStudy(task: string, o: TrainOptions): Study {
  const t = usage(() => taskName(task));
  const study = usage(() => preset(t, o.preset));
  const cell = usage(() => cellName(o.cell));
  study.cells = [cell];
  study.seed = nonNegativeInt('--seed', o.seed);
  study.layers = [o.layers === undefined ? study.layers[0] : positiveInt('--layers', o.layers)];
  applySizeOptions(study, o);
  if (study.task === 'copy-first-input') {
    study.lengths = [o.length === undefined ? study.lengths[0] : Number(o.length)];
    return study;
  }
  if (o.length !== undefined) throw onlyFor('--length', 'copy-first-input');
  study.repeats = 1;
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
  const cmd = program
    .command('train')
    .description(
      'train one cell on one task (copy-first-input or binary-addition), on any backend, with any settings',
    )
    .argument('<task>', 'copy-first-input or binary-addition')
    .requiredOption('--cell <name>', 'BRC, nBRC, GRU or LSTM')
    .option('--preset <name>', "defaults for every setting not given: 'paper' or 'quick'", 'paper')
    .option('--length <T>', 'copy-first-input: sequence length (>= 2)')
    .option('--layers <n>', 'layers');
  addSizeOptions(cmd)
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
