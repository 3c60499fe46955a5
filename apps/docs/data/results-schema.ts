/** The shape of results.json, which the lead fills from real runs (never invented numbers). */
export interface Figure {
  /** Path under the site root, e.g. /figures/copy-first-input.svg (files live in public/figures/). */
  file: string;
  caption: string;
  /** The exact command that produced it (bistable reproduce … then bistable plot …). */
  command: string;
  /** ISO date of the run. */
  date: string;
  /** The machine: CPU/GPU model, cores, OS, Node version. */
  machine: string;
}

export interface Study {
  task: 'copy-first-input' | 'binary-addition';
  title: string;
  figures: Figure[];
}

export interface BenchmarkTable {
  title: string;
  command: string;
  date: string;
  machine: string;
  columns: string[];
  rows: (string | number)[][];
  note?: string;
}

export interface Results {
  studies: Study[];
  benchmarks: BenchmarkTable[];
}
