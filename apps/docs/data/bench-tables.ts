/**
 * Timing tables for the site, drawn from the bench JSON committed under data/bench/: files that
 * `bistable bench --json` wrote (Node), and files that scripts/bench-browser.mjs wrote (the demo
 * page in headless Chromium). Every table carries the date, machine and command of its run and
 * the file it came from (`source`), so no timing on the site is typed in by hand.
 */

/** One timing of `bistable bench --json` (the fields the tables use). */
interface NodeResult {
  backend: string;
  cell: string;
  seqLen: number;
  batch: number;
  hidden: number;
  layers: number;
  train: { median: number; min: number; max: number; samples: number[] };
  /** Models per step, and whether as one Ensemble (`bench --ensemble`). */
  members?: number;
  together?: boolean;
  /** The ensemble ran each pass of all its members as one call (absent before 2026-12-06). */
  passesBatched?: boolean;
  device?: { dispatches: number };
}

/** What `bistable bench --json` writes (the fields the tables use). */
export interface NodeBenchFile {
  date: string;
  machine: string;
  command: string;
  loadAverage?: number[];
  backend: string;
  backends: string[];
  softwareDevices?: Record<string, string>;
  batch: number;
  hidden: number;
  layers: number;
  steps: number;
  warmup: number;
  dtype: string;
  /** `bench --ensemble N`: each row's results are [N as one Ensemble, the N one after another]. */
  ensemble?: number | null;
  rows: { cell: string; seqLen: number; results: NodeResult[] }[];
}

/** A run of `bistable bench --ensemble N`: one backend, an ensemble against its models one by one. */
export const isEnsembleBench = (f: BenchFile): boolean =>
  !isBrowserBench(f) && typeof (f as NodeBenchFile).ensemble === 'number';

/** What scripts/bench-browser.mjs writes. */
export interface BrowserBenchFile {
  format: 'bistable-browser-bench';
  version: 1;
  date: string;
  machine: string;
  command: string;
  loadAverage?: number[];
  what: string;
  settings: { cells: string[]; batch: number; hiddenSize: number; seqLen: number; layers: number };
  defaultBackend: string | null;
  results: (
    | {
        backend: string;
        available: true;
        /** Its GPU emulated on the CPU (SwiftShader): the device, as the backend reported it. */
        softwareDevice?: string;
        stepsPerSecond: number;
        msPerStep: number;
        rounds: number[];
      }
    | { backend: string; available: false; reason: string }
  )[];
}

export type BenchFile = NodeBenchFile | BrowserBenchFile;

export const isBrowserBench = (f: BenchFile): f is BrowserBenchFile =>
  (f as BrowserBenchFile).format === 'bistable-browser-bench';

/** A table as the site shows it, with where its numbers came from. */
export interface TimingTable {
  id: string;
  title: string;
  /** ISO date of the run (YYYY-MM-DD). */
  date: string;
  machine: string;
  command: string;
  /** Load average when the run started (1, 5, 15 min), where recorded. */
  load: number[] | null;
  columns: string[];
  rows: (string | number)[][];
  note: string;
  /** The committed files the numbers come from, relative to apps/docs. */
  source: string[];
}

/** A backend's measured speed in one run, for the ranking checks and the guide's prose. */
export interface Measured {
  backend: string;
  /** Geometric mean over the run's sizes of its time per step (ms). */
  ms: number;
  /** Its GPU emulated on the CPU in that run (lavapipe, SwiftShader): the device; else null. */
  softwareDevice: string | null;
}

const geomean = (xs: number[]) => Math.exp(xs.reduce((a, x) => a + Math.log(x), 0) / xs.length);

export const fmtMs = (x: number) =>
  x >= 1000 ? `${(x / 1000).toFixed(2)} s` : x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2);
const fmtTimes = (x: number) => (x < 1.005 ? '1' : x >= 10 ? `${x.toFixed(0)}×` : `${x.toFixed(1)}×`);
const fmtRate = (x: number) => (x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2));

/** Every backend's speed in a run, fastest first. */
export function measured(f: BenchFile): Measured[] {
  if (isEnsembleBench(f))
    throw new Error('an ensemble run times one backend against itself; see ensembleTable');
  if (isBrowserBench(f)) {
    return f.results
      .flatMap((r) => (r.available ? [r] : []))
      .map((r) => ({ backend: r.backend, ms: r.msPerStep, softwareDevice: r.softwareDevice ?? null }))
      .sort((a, b) => a.ms - b.ms);
  }
  return f.backends
    .map((backend) => ({
      backend,
      ms: geomean(
        f.rows.map((row) => {
          const r = row.results.find((x) => x.backend === backend);
          if (!r) throw new Error(`${backend} has no result for ${row.cell} T=${row.seqLen}`);
          return r.train.median;
        }),
      ),
      softwareDevice: f.softwareDevices?.[backend] ?? null,
    }))
    .sort((a, b) => a.ms - b.ms);
}

/**
 * The table of one run: a row per backend, fastest first, with its time per step at each size,
 * steps per second and how many times the fastest one's time it takes. `priorities` adds the
 * rank `auto` gives each backend (registered priorities), so a reader sees that they agree.
 */
export function benchTable(
  source: string,
  f: BenchFile,
  priorities: ReadonlyMap<string, number> = new Map(),
): TimingTable {
  const date = f.date.slice(0, 10);
  const load = f.loadAverage ?? null;
  const id = source.replace(/^.*\//, '').replace(/\.json$/, '');
  const ranked = measured(f);
  const fastest = ranked[0]?.ms ?? 1;
  const prio = (name: string) => (priorities.has(name) ? String(priorities.get(name)) : '–');
  if (isBrowserBench(f)) {
    const s = f.settings;
    const unavailable = f.results.filter((r) => !r.available) as { backend: string; reason: string }[];
    return {
      id,
      title: `In a browser (headless Chromium): the demo's two models, ${s.cells.join(' and ')}, batch ${s.batch}, ${s.hiddenSize} units, T = ${s.seqLen}, ${s.layers} layer`,
      date,
      machine: f.machine,
      command: f.command,
      load,
      columns: ['backend', 'steps/s', 'ms per step', '× the fastest’s time', 'auto priority'],
      rows: ranked.map((m) => [
        m.backend +
          (m.backend === f.defaultBackend ? ' (the demo’s default)' : '') +
          (m.softwareDevice ? ' (GPU emulated on the CPU)' : ''),
        fmtRate(1000 / m.ms),
        fmtMs(m.ms),
        fmtTimes(m.ms / fastest),
        prio(m.backend),
      ]),
      note:
        `${f.what}; median of the rounds, which alternate the backends.` +
        (ranked.some((m) => m.softwareDevice)
          ? ` Emulated GPU: ${[...new Set(ranked.flatMap((m) => (m.softwareDevice ? [m.softwareDevice] : [])))].join(', ')}.`
          : '') +
        (unavailable.length
          ? ` Not available in that browser: ${unavailable.map((u) => `${u.backend} (${u.reason.replace(/^not available here: /, '')})`).join('; ')}.`
          : ''),
      source: [source],
    };
  }
  const sizes = f.rows.map((r) => `${r.cell} T=${r.seqLen}`);
  return {
    id,
    title: `In Node: batch ${f.batch}, ${f.hidden} units, ${f.layers} layer${f.layers === 1 ? '' : 's'}, ${f.dtype}`,
    date,
    machine: f.machine,
    command: f.command,
    load,
    columns: [
      'backend',
      ...sizes.map((s) => `${s} (ms)`),
      'steps/s',
      '× the fastest’s time',
      'auto priority',
    ],
    rows: ranked.map((m) => [
      m.backend + (m.softwareDevice ? ' (GPU emulated on the CPU)' : ''),
      ...f.rows.map((row) => fmtMs(row.results.find((x) => x.backend === m.backend)!.train.median)),
      fmtRate(1000 / m.ms),
      fmtTimes(m.ms / fastest),
      prio(m.backend),
    ]),
    note:
      `One training step (forward, backward, Adam) of the copy-first-input model; median of ${f.steps} steps after ${f.warmup} warm-up, the backends' steps alternating in one process. steps/s and × use the geometric mean over the sizes.` +
      (Object.keys(f.softwareDevices ?? {}).length
        ? ` Emulated GPU: ${[...new Set(Object.values(f.softwareDevices ?? {}))].join(', ')}.`
        : ''),
    source: [source],
  };
}

/**
 * Where `auto`'s order disagrees with a run: pairs of native backends (no emulated GPU) where the
 * lower priority ran faster by more than `margin` (a ratio: noise on a shared machine stays under
 * it). Empty when the priorities follow the measurements.
 */
export function rankingConflicts(
  f: BenchFile,
  priorities: ReadonlyMap<string, number>,
  margin = 1.3,
): string[] {
  const native = measured(f).filter((m) => !m.softwareDevice && priorities.has(m.backend));
  const out: string[] = [];
  for (const fast of native) {
    for (const slow of native) {
      if (slow.ms > fast.ms * margin && priorities.get(slow.backend)! > priorities.get(fast.backend)!) {
        out.push(
          `${slow.backend} (priority ${priorities.get(slow.backend)}) outranks ${fast.backend} (priority ${priorities.get(fast.backend)}) but took ${(slow.ms / fast.ms).toFixed(1)}× its time`,
        );
      }
    }
  }
  return out;
}

/**
 * The table of one `bench --ensemble N` run: a row per size, with the time per step of N models
 * as one Ensemble and of the same N one after another, the speed-up, and the dispatches of each
 * where the backend counts them.
 */
export function ensembleTable(source: string, f: NodeBenchFile): TimingTable {
  const n = f.ensemble as number;
  const backend = f.backends[0];
  const soft = f.softwareDevices?.[backend];
  const counted = f.rows.some((r) => r.results[0].device);
  const batched = f.rows.some((r) => r.results[0].passesBatched === true);
  return {
    id: source.replace(/^.*\//, '').replace(/\.json$/, ''),
    title: `Ensembles on ${backend}${soft ? ' (GPU emulated on the CPU)' : ''}: ${n} models of batch ${f.batch}, ${f.hidden} units, ${f.layers} layer${f.layers === 1 ? '' : 's'}`,
    date: f.date.slice(0, 10),
    machine: f.machine,
    command: f.command,
    load: f.loadAverage ?? null,
    columns: [
      'size',
      `ensemble of ${n} (ms)`,
      `${n} one after another (ms)`,
      'speed-up',
      ...(counted ? ['dispatches', 'one after another'] : []),
    ],
    rows: f.rows.map((row) => {
      const [together, apart] = row.results;
      return [
        `${row.cell} T=${row.seqLen}`,
        fmtMs(together.train.median),
        fmtMs(apart.train.median),
        `${(apart.train.median / together.train.median).toFixed(2)}×`,
        ...(counted ? [together.device?.dispatches ?? '', apart.device?.dispatches ?? ''] : []),
      ];
    }),
    note:
      `One training step of ${n} copy-first-input models (forward, backward, Adam) as one Ensemble, against the same ${n} models trained one after another, each with its own Adam; median of ${f.steps} steps after ${f.warmup} warm-up, the two alternating in one process. Speed-up: one after another divided by the ensemble.` +
      (batched
        ? ` The ensemble ran each layer's forward and backward of all ${n} models as one dispatch.`
        : ` The ensemble ran each model's sequence passes on their own (sharing the weight-gradient GEMMs and one Adam).`) +
      (soft ? ` Emulated GPU: ${soft}.` : ''),
    source: [source],
  };
}
