/** The shape of results.json: benchmark tables from real runs (never invented numbers). */
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
  benchmarks: BenchmarkTable[];
  /** The job-queue measurement (local workers against queue workers), on the results page. */
  jobQueue: BenchmarkTable;
}
