import { loadavg } from 'node:os';
import {
  type Backend,
  type BenchResult,
  benchAlternating,
  benchEnsemble,
  type CellName,
  type DType,
  getBackend,
  type TimingStats,
} from '@bistable/core';
import { cellName } from '@bistable/tasks';
import type { Command } from 'commander';
import { discoverBackends } from '../discover.js';
import { CliError, EXIT_USAGE } from '../exit-codes.js';
import { dtypeOption, nonNegativeInt, positiveInt, stringList, usage } from '../studies/options.js';
import { commandLine, describeMachine } from '../studies/provenance.js';
import { printTable } from '../table.js';

export interface BenchCliOptions {
  cell: string;
  seqLen: string;
  batch: string;
  hidden: string;
  layers: string;
  backend: string;
  compare?: string;
  steps: string;
  warmup: string;
  dtype?: string;
  microBatch?: string;
  inference?: boolean;
  ensemble?: string;
  json?: boolean;
  /** Progress lines (stderr); off for --json and in tests. */
  quiet?: boolean;
}

export interface BenchRow {
  cell: CellName;
  seqLen: number;
  result: BenchResult;
  /** The first backend of --compare; null without it. */
  compare: BenchResult | null;
  /** compare's median / backend's median: how many times faster `backend` is. */
  trainSpeedup: number | null;
  inferenceSpeedup: number | null;
  /** Every backend's result, in the order of `backends` (the first is `result`). */
  results: BenchResult[];
}

export interface BenchReport {
  /** When the run started (ISO 8601). */
  date: string;
  /** CPU model, cores, memory, OS and Node version (as provenance.json states it). */
  machine: string;
  /** The command line, as typed (`bistable bench …`), led by any BISTABLE_* settings. */
  command: string;
  /** os.loadavg() when the run started: how busy the machine already was. */
  loadAverage: number[];
  backend: string;
  /** Every backend timed, `backend` first, then those of --compare; their steps alternate. */
  backends: string[];
  /** Backends whose GPU is emulated on the CPU (lavapipe, SwiftShader), with the device's name. */
  softwareDevices: Record<string, string>;
  threads: number | null;
  /** Whether the backend's GEMM fuses multiply-adds (cpu with relaxed SIMD); null where not told. */
  fma: boolean | null;
  /** Rows of the backend's GEMM register tile (cpu: 4 or 6, measured at start); null where not told. */
  tileRows: number | null;
  /** The first backend of --compare; null without it. */
  compare: string | null;
  compareThreads: number | null;
  dtype: DType;
  batch: number;
  hidden: number;
  layers: number;
  steps: number;
  warmup: number;
  /** --micro-batch as given (null: chosen per size from the backend's buffer limit); rows report what ran. */
  microBatch: number | null;
  /**
   * --ensemble: models per step. Each row's `result` is then those models as one Ensemble and
   * `compare` the same models one after another on the same backend; null otherwise.
   */
  ensemble: number | null;
  rows: BenchRow[];
}

/** Cell names, case-insensitively (nbrc → nBRC). */
function cells(v: string): CellName[] {
  const out = stringList(v).map((s) => usage(() => cellName(s)));
  if (out.length === 0) throw new CliError('--cell needs at least one cell', EXIT_USAGE);
  return out;
}

function threadsOf(be: Backend): number | null {
  const t = (be as { threads?: unknown }).threads;
  return typeof t === 'number' ? t : null;
}

function fmaOf(be: Backend): boolean | null {
  const f = (be as { fma?: unknown }).fma;
  return typeof f === 'boolean' ? f : null;
}

function tileRowsOf(be: Backend): number | null {
  const t = (be as { tileRows?: unknown }).tileRows;
  return typeof t === 'number' ? t : null;
}

const ratio = (a: TimingStats | null | undefined, b: TimingStats | null | undefined) =>
  a && b && b.median > 0 ? a.median / b.median : null;

/**
 * Times full training steps (and forward passes) of the copy-first-input model for every
 * requested cell × sequence length, on one backend or two side by side in the same process.
 */
export async function runBench(opts: BenchCliOptions): Promise<BenchReport> {
  const cellList = cells(opts.cell);
  const lengths = stringList(opts.seqLen).map((s) => positiveInt('--seq-len', s));
  if (lengths.length === 0) throw new CliError('--seq-len needs at least one length', EXIT_USAGE);
  const batch = positiveInt('--batch', opts.batch);
  const hidden = positiveInt('--hidden', opts.hidden);
  const layers = positiveInt('--layers', opts.layers);
  const steps = positiveInt('--steps', opts.steps);
  const warmup = nonNegativeInt('--warmup', opts.warmup);
  const microBatch =
    opts.microBatch === undefined ? undefined : positiveInt('--micro-batch', opts.microBatch);
  const dtype: DType = opts.dtype === undefined ? 'float32' : dtypeOption('--dtype', opts.dtype);
  const members = opts.ensemble === undefined ? null : positiveInt('--ensemble', opts.ensemble);
  if (members !== null && opts.compare !== undefined) {
    throw new CliError(
      '--ensemble times one backend, an ensemble against its models one after another; leave out --compare',
      EXIT_USAGE,
    );
  }
  const compareNames = opts.compare === undefined ? [] : stringList(opts.compare);
  if (opts.compare !== undefined && compareNames.length === 0) {
    throw new CliError('--compare needs at least one backend', EXIT_USAGE);
  }
  const date = new Date().toISOString();
  const loadAverage = loadavg().map((x) => Math.round(x * 100) / 100);
  await discoverBackends();
  const be = await getBackend(opts.backend, { dtype });
  const others: Backend[] = [];
  for (const name of compareNames) others.push(await getBackend(name, { dtype }));
  const all = [be, ...others];
  const names = all.map((b) => b.name);
  const twice = names.find((n, i) => names.indexOf(n) !== i);
  if (twice) throw new CliError(`backend '${twice}' is timed twice; name each backend once`, EXIT_USAGE);
  const cmp = others[0] ?? null;
  for (const b of all) {
    if (!b.dtypes.includes(dtype)) {
      throw new CliError(
        `backend '${b.name}' does not support ${dtype}; it supports ${b.dtypes.join(', ')}`,
        EXIT_USAGE,
      );
    }
  }
  const say = (s: string) => {
    if (!opts.quiet && !opts.json) process.stderr.write(`${s}\n`);
  };
  const rows: BenchRow[] = [];
  for (const cell of cellList) {
    for (const seqLen of lengths) {
      const o = {
        cell,
        seqLen,
        batch,
        hidden,
        layers,
        dtype,
        steps,
        warmup,
        microBatch,
        inferenceSteps: opts.inference === false ? 0 : steps,
      };
      if (members !== null) {
        say(
          `bench: ${cell} T=${seqLen} on ${be.name}, ${members} models as one ensemble and one after another, steps alternating`,
        );
        const [together, apart] = await benchEnsemble(be, { ...o, members });
        rows.push({
          cell,
          seqLen,
          result: together,
          compare: apart,
          trainSpeedup: ratio(apart.train, together.train),
          inferenceSpeedup: null,
          results: [together, apart],
        });
        continue;
      }
      const on =
        all.length === 1
          ? be.name
          : `${names.slice(0, -1).join(', ')} and ${names.at(-1)}, steps alternating`;
      say(`bench: ${cell} T=${seqLen} on ${on} (${warmup} warm-up + ${steps} steps)`);
      const results = await benchAlternating(all, o);
      const [result] = results;
      const compare = results[1] ?? null;
      rows.push({
        cell,
        seqLen,
        result,
        compare,
        trainSpeedup: compare ? ratio(compare.train, result.train) : null,
        inferenceSpeedup: compare ? ratio(compare.inference, result.inference) : null,
        results,
      });
    }
  }
  return {
    date,
    machine: describeMachine(),
    command: commandLine(),
    loadAverage,
    backend: be.name,
    backends: names,
    softwareDevices: Object.fromEntries(
      all.filter((b) => b.softwareDevice).map((b) => [b.name, b.softwareDevice as string]),
    ),
    threads: threadsOf(be),
    fma: fmaOf(be),
    tileRows: tileRowsOf(be),
    compare: cmp?.name ?? null,
    compareThreads: cmp ? threadsOf(cmp) : null,
    dtype,
    batch,
    hidden,
    layers,
    steps,
    warmup,
    microBatch: microBatch ?? null,
    ensemble: members,
    rows,
  };
}

const ms = (x: number) => (x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2));
const spread = (s: TimingStats) => `${ms(s.median)} (${ms(s.min)}–${ms(s.max)})`;
const mib = (b: number | null) => (b === null ? 'n/a' : `${(b / 2 ** 20).toFixed(0)}`);
const gmacs = (r: BenchResult) => ((r.trainMultiplyAdds / r.train.median) * 1e-6).toFixed(1);
const times = (x: number | null) => (x === null ? '' : `${x.toFixed(2)}×`);

function describeBackend(
  name: string,
  threads: number | null,
  fma: boolean | null = null,
  tileRows: number | null = null,
): string {
  const notes = [
    ...(threads === null ? [] : [`${threads} thread${threads === 1 ? '' : 's'}`]),
    ...(fma ? ['fused multiply-add'] : []),
    ...(tileRows === null ? [] : [`${tileRows}×8 tile`]),
  ];
  return notes.length ? `${name} (${notes.join(', ')})` : name;
}

export function printBench(r: BenchReport, write: (s: string) => void = console.log): void {
  write(
    `bench: copy-first-input model, ${r.layers} layers × ${r.hidden} units, batch ${r.batch}, input 1, ${r.dtype}; ` +
      `median (min–max) of ${r.steps} steps after ${r.warmup} warm-up, ms`,
  );
  if (r.ensemble !== null) {
    printEnsembleBench(r, write);
    return;
  }
  const compared = r.backends.slice(1);
  write(
    `backend: ${describeBackend(r.backend, r.threads, r.fma, r.tileRows)}` +
      (compared.length === 1 ? `; compared with ${describeBackend(compared[0], r.compareThreads)}` : '') +
      (compared.length > 1 ? `; compared with ${compared.join(', ')}` : ''),
  );
  const head = ['cell', 'T', `${r.backend} train`, 'infer', 'GMAC/s', 'mem MiB'];
  for (const name of compared) {
    head.push(`${name} train`, 'infer', compared.length === 1 ? 'train speed-up' : 'speed-up');
    if (compared.length === 1) head.push('infer speed-up');
  }
  const rows = r.rows.map((row) => {
    const first = row.results[0] ?? row.result;
    const cells = [
      row.cell,
      String(row.seqLen),
      spread(first.train),
      first.inference ? ms(first.inference.median) : '',
      gmacs(first),
      mib(first.memory.rssDelta),
    ];
    for (const other of row.results.slice(1)) {
      cells.push(
        spread(other.train),
        other.inference ? ms(other.inference.median) : '',
        times(ratio(other.train, first.train)),
      );
      if (compared.length === 1) cells.push(times(ratio(other.inference, first.inference)));
    }
    return cells;
  });
  printTable(head, rows, write);
  const counted = r.rows.flatMap((row) => row.results.filter((x) => x.device).map((x) => ({ row, x })));
  if (counted.length > 0) {
    write('device work per training step (median over the timed steps; host = recording time, ms):');
    printTable(
      ['cell', 'T', 'backend', 'dispatches', 'fused', 'library', 'submits', 'readbacks', 'host ms'],
      counted.map(({ row, x }) => {
        const d = x.device!;
        return [
          row.cell,
          String(row.seqLen),
          x.backend,
          `${d.dispatches}${d.steady ? '' : ' (varies)'}`,
          d.fusedDispatches === undefined ? '' : String(d.fusedDispatches),
          d.libraryDispatches === undefined ? '' : String(d.libraryDispatches),
          String(d.submits),
          String(d.readbacks),
          spread(d.hostMs),
        ];
      }),
      write,
    );
  }
  const split = r.rows.flatMap((row) =>
    row.results
      .filter((x) => x.microBatches > 1)
      .map(
        (x) =>
          `${row.cell} T=${row.seqLen} on ${x.backend}: ${x.microBatches} passes of ${x.microBatch} rows`,
      ),
  );
  if (split.length > 0) {
    const why = r.microBatch === null ? "the backend's buffer limit" : `--micro-batch ${r.microBatch}`;
    write(`micro-batches (${why}; each step accumulates its passes' gradients): ${split.join('; ')}`);
  }
  if (compared.length > 0) {
    write(
      `speed-up: ${compared.length === 1 ? `${compared[0]}'s` : 'each backend’s'} median time divided by ${r.backend}'s; same process and data, steps alternating`,
    );
  }
}

/** `bench --ensemble N`: the ensemble's step against its models' steps one after another. */
function printEnsembleBench(r: BenchReport, write: (s: string) => void): void {
  const n = r.ensemble as number;
  write(`backend: ${describeBackend(r.backend, r.threads, r.fma, r.tileRows)}; ${n} models per step`);
  const counted = r.rows.some((row) => row.result.device);
  const head = ['cell', 'T', `ensemble of ${n}`, `${n} one after another`, 'speed-up'];
  if (counted) head.push('dispatches', 'apart');
  printTable(
    head,
    r.rows.map((row) => {
      const apart = row.compare as BenchResult;
      const cells = [
        row.cell,
        String(row.seqLen),
        spread(row.result.train),
        spread(apart.train),
        times(row.trainSpeedup),
      ];
      if (counted)
        cells.push(String(row.result.device?.dispatches ?? ''), String(apart.device?.dispatches ?? ''));
      return cells;
    }),
    write,
  );
  write(
    `speed-up: the ${n} models' steps one after another (each with its own Adam) divided by the ensemble's one step of all ${n}; same process, backend and data, steps alternating`,
  );
  const batched = r.rows.some((row) => row.result.passesBatched);
  write(
    batched
      ? `the ensemble ran each layer's forward and backward of all ${n} models as one call (one dispatch where the kernels take several models)`
      : `this backend runs each model's sequence passes on its own; the ensemble shares the weight-gradient GEMMs and one Adam`,
  );
}

export function registerBenchCommand(program: Command): void {
  program
    .command('bench')
    .description(
      'time full training steps (forward, backward, Adam) and forward passes of the copy-first-input model',
    )
    .option('--cell <list>', 'cells, comma-separated (BRC, nBRC, GRU, LSTM)', 'nBRC,BRC,GRU,LSTM')
    .option('--seq-len <list>', 'sequence lengths, comma-separated', '100')
    .option('--batch <n>', 'batch size', '100')
    .option('--hidden <n>', 'hidden units per layer', '100')
    .option('--layers <n>', 'stacked layers', '2')
    .option('--backend <name>', "backend name, or 'auto'", 'auto')
    .option(
      '--compare <list>',
      'more backends, comma-separated, timed side by side with the first, steps alternating (speed-up = its time / the first one’s)',
    )
    .option('--steps <n>', 'timed training steps (and forward passes) per size', '5')
    .option('--warmup <n>', 'untimed steps before timing', '2')
    .option('--dtype <dtype>', 'float32 or float64', 'float32')
    .option(
      '--micro-batch <n>',
      "most rows per forward/backward pass, gradients accumulated (default: what the backend's buffer limit allows)",
    )
    .option('--no-inference', 'skip the forward-only timing')
    .option(
      '--ensemble <n>',
      'time n models of each size as one Ensemble against the same n trained one after another (training steps only)',
    )
    .option('--json', 'print JSON')
    .action(async (opts: BenchCliOptions) => {
      const report = await runBench(opts);
      if (opts.json) console.log(JSON.stringify(report, null, 2));
      else printBench(report);
    });
}
