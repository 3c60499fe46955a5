import { join } from 'node:path';
import { planRuns, preset, type Study, taskName } from '@bistable/tasks';
import type { Command } from 'commander';
import { CliError } from '../exit-codes.js';
import { DEFAULT_QUEUE_NAME, parseQueueUrl, queueName } from '../queue/keys.js';
import { executeStudy } from '../studies/execute-study.js';
import { intList, nonNegativeInt, positiveInt, stringList, usage } from '../studies/options.js';
import { printStudySummary } from '../studies/print-summary.js';
import { addSizeOptions, applySizeOptions, type SizeOptions } from '../studies/size-options.js';

interface ReproduceOptions extends SizeOptions {
  preset: string;
  cells?: string;
  lengths?: string;
  layers?: string;
  repeats?: string;
  backend: string;
  workers: string;
  seed: string;
  out?: string;
  resume?: boolean;
  plot: boolean;
  json?: boolean;
  queue?: string;
  queueName: string;
  ensemble?: string | boolean;
}

/**
 * `--ensemble [members]`: undefined when absent, Infinity (every run of a shape together) when
 * given bare, else the most runs to an ensemble.
 */
export function ensembleSize(v: string | boolean | undefined): number | undefined {
  if (v === undefined || v === false) return undefined;
  if (v === true) return Number.POSITIVE_INFINITY;
  return positiveInt('--ensemble', v);
}

/** A preset's study with the command line's changes; bad values are usage errors. */
export function studyFromOptions(task: string, o: ReproduceOptions): Study {
  const t = usage(() => taskName(task));
  const study = usage(() => preset(t, o.preset));
  if (o.cells !== undefined) study.cells = stringList(o.cells) as Study['cells'];
  if (o.layers !== undefined) study.layers = intList('--layers', o.layers);
  applySizeOptions(study, o);
  study.seed = nonNegativeInt('--seed', o.seed);
  if (o.lengths !== undefined) {
    if (study.task !== 'copy-first-input') {
      throw new CliError(
        '--lengths applies to copy-first-input; binary addition takes its lengths from the preset',
      );
    }
    study.lengths = intList('--lengths', o.lengths);
  }
  if (o.repeats !== undefined) {
    if (study.task !== 'binary-addition') throw new CliError('--repeats applies to binary-addition');
    study.repeats = positiveInt('--repeats', o.repeats);
  }
  return study;
}

export function registerReproduceCommand(program: Command): void {
  const cmd = program
    .command('reproduce')
    .description(
      "rerun one of brc_pytorch's validation studies (copy-first-input, binary-addition) and draw its figures",
    )
    .argument('<task>', 'copy-first-input or binary-addition')
    .option('--preset <name>', "'paper' (brc_pytorch's full sizes) or 'quick' (minutes on a laptop)", 'paper')
    .option('--cells <list>', 'cells to compare, e.g. nBRC,GRU (default: LSTM,GRU,nBRC,BRC)')
    .option('--lengths <list>', "copy-first-input sequence lengths T, e.g. 5,100,300 (default: the preset's)")
    .option('--layers <list>', "layer counts, e.g. 1,2 (default: the preset's)")
    .option('--repeats <n>', "binary-addition repeats per cell, for the mean ± SEM (default: the preset's)");
  // the protocol stays brc_pytorch's; these shorten (or grow) its budget and data
  addSizeOptions(cmd)
    .option('--backend <name>', "backend name, or 'auto'", 'auto')
    .option('--workers <n>', 'independent runs at once, in worker threads', '1')
    .option('--seed <n>', 'seed of the whole study; every run derives its own', '0')
    .option('--out <dir>', 'results folder (default: results/<task>-<preset>)')
    .option('--resume', 'continue the study in --out from its last checkpoints (or start it there)')
    .option(
      '--queue <url>',
      'run through a Redis job queue (redis://host:port): each run is a job that `bistable worker` takes, on any machine',
    )
    .option(
      '--queue-name <name>',
      'the queue within Redis, one study at a time per queue',
      DEFAULT_QUEUE_NAME,
    )
    .option(
      '--ensemble [members]',
      "train runs of one shape together as one batched model (binary addition: a cell's repeats; copy-first-input: a cell's lengths), at most <members> at once (default: all); every run's numbers stay its own",
    )
    .option('--no-plot', 'skip the figures')
    .option('--json', 'print a machine-readable summary on stdout')
    .action(async (task: string, o: ReproduceOptions, cmd: Command) => {
      const study = studyFromOptions(task, o);
      if (o.queue && cmd.getOptionValueSource('workers') === 'cli')
        throw new CliError(
          '--workers applies to a local study; with --queue, start workers with `bistable worker`',
        );
      const ensemble = ensembleSize(o.ensemble);
      if (o.queue && ensemble !== undefined)
        throw new CliError(
          '--ensemble trains on this machine; with --queue every run is its own job (leave one of them out)',
        );
      const queue = o.queue ? { url: parseQueueUrl(o.queue), name: queueName(o.queueName) } : undefined;
      const runs = usage(() => planRuns(study));
      const summary = await executeStudy({
        command: 'reproduce',
        preset: o.preset,
        study,
        runs,
        out: o.out ?? join('results', `${study.task}-${o.preset}`),
        backend: o.backend,
        workers: positiveInt('--workers', o.workers),
        ensemble,
        resume: Boolean(o.resume),
        plot: o.plot,
        json: Boolean(o.json),
        queue,
      });
      if (o.json) console.log(JSON.stringify(summary, null, 2));
      else printStudySummary(summary);
    });
}
