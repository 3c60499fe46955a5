import { appendFileSync } from 'node:fs';
import type { EpochInfo } from '@bistable/tasks';
import cliProgress from 'cli-progress';

/**
 * How a study's progress is shown: bars on a terminal, plain lines elsewhere. The protocols' own
 * lines (one per epoch) and each run's summary go to the log file.
 */
export interface Reporter {
  runStarted(id: string, totalSteps: number): void;
  step(id: string, step: number, totalSteps: number, loss: number): void;
  epoch(id: string, info: EpochInfo): void;
  runFinished(id: string, summary: string, steps: number): void;
  log(id: string, line: string): void;
  stop(): void;
}

const fmt = (v: number | undefined, digits = 4) =>
  v === undefined || Number.isNaN(v) ? '-' : v.toPrecision(digits);

function epochLine(id: string, e: EpochInfo): string {
  const acc =
    e.trainAccuracy === undefined
      ? ''
      : `  acc train ${e.trainAccuracy.toFixed(3)} valid ${fmt(e.validAccuracy, 3)}`;
  const len = e.length === undefined ? '' : `  L=${e.length}`;
  return `[${id}] epoch ${e.epoch + 1}/${e.totalEpochs}${len}  step ${e.step}  train ${fmt(e.trainLoss)}  valid ${fmt(e.validLoss)}${acc}`;
}

/** Appends timestamped lines to the study's log file (and nowhere else). */
export class LogFile {
  constructor(readonly path: string) {}
  write(id: string, line: string): void {
    appendFileSync(this.path, `${new Date().toISOString()} [${id}] ${line}\n`);
  }
}

/**
 * cli-progress multibar: one bar per run with its loss, and an overall bar. When stderr is not a
 * terminal (CI, pipes), one plain line per epoch and per finished run instead.
 */
export function createReporter(opts: {
  log: LogFile;
  ids: string[];
  tty?: boolean;
  quiet?: boolean;
}): Reporter {
  const tty = opts.tty ?? Boolean(process.stderr.isTTY);
  const { log } = opts;
  const plain = (line: string) => {
    if (!opts.quiet) process.stderr.write(`${line}\n`);
  };
  if (!tty) {
    return {
      runStarted: (id, total) => plain(`[${id}] started (up to ${total} steps)`),
      step: () => {},
      epoch: (id, e) => plain(epochLine(id, e)),
      runFinished: (id, summary) => {
        log.write(id, summary);
        plain(`[${id}] ${summary}`);
      },
      log: (id, line) => log.write(id, line),
      stop: () => {},
    };
  }

  const multi = new cliProgress.MultiBar(
    {
      clearOnComplete: false,
      hideCursor: true,
      format: '{name} |{bar}| {value}/{total} steps | {status}',
      barsize: 30,
      etaBuffer: 200,
      fps: 5,
    },
    cliProgress.Presets.shades_classic,
  );
  const width = { id: Math.max(7, ...opts.ids.map((i) => i.length)) };
  const bars = new Map<string, { bar: cliProgress.SingleBar; total: number; value: number }>();
  const overall = multi.create(
    0,
    0,
    { name: 'overall'.padEnd(width.id), status: '' },
    { format: '{name} |{bar}| {value}/{total} steps | {status} | eta {eta_formatted}' },
  );
  let overallTotal = 0;
  const sumValues = () => [...bars.values()].reduce((s, b) => s + b.value, 0);
  const refreshOverall = () => {
    overall.setTotal(overallTotal);
    overall.update(sumValues(), { status: `${bars.size} runs` });
  };
  return {
    runStarted(id, total) {
      const bar = multi.create(total, 0, { name: id.padEnd(width.id), status: 'starting' });
      bars.set(id, { bar, total, value: 0 });
      overallTotal += total;
      refreshOverall();
    },
    step(id, step, _total, loss) {
      const b = bars.get(id);
      if (!b) return;
      b.value = step;
      b.bar.update(step, { status: `loss ${fmt(loss)}` });
      overall.update(sumValues());
    },
    epoch(id, e) {
      bars
        .get(id)
        ?.bar.update(e.step, { status: `epoch ${e.epoch + 1}/${e.totalEpochs} valid ${fmt(e.validLoss)}` });
    },
    runFinished(id, summary, steps) {
      log.write(id, summary);
      const b = bars.get(id);
      if (!b) return;
      // an early stop ends a run before its planned steps
      overallTotal -= b.total - steps;
      b.total = steps;
      b.value = steps;
      b.bar.setTotal(Math.max(steps, 1));
      b.bar.update(steps, { status: 'done' });
      refreshOverall();
    },
    log: (id, line) => log.write(id, line),
    stop: () => multi.stop(),
  };
}
