import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  type BenchFile,
  benchTable,
  ensembleTable,
  isBrowserBench,
  isEnsembleBench,
  type NodeBenchFile,
  type TimingTable,
} from './bench-tables.js';

/** The committed bench runs (data/bench/*.json) as the site's tables, newest first. */
export interface BenchData {
  node: TimingTable[];
  browser: TimingTable[];
  /** `bench --ensemble` runs: an ensemble's step against its models' steps one after another. */
  ensemble: TimingTable[];
  /** Every registered backend with its priority, highest first: `auto`'s order. */
  priorities: { name: string; priority: number; description: string }[];
}

declare const data: BenchData;

export { data };

/** `auto`'s order, as the packages register it (core's, tfjs's and gpu.js's backends). */
export async function registeredOrder(): Promise<BenchData['priorities']> {
  const core = await import('@bistable/core');
  await import('@bistable/backend-tfjs');
  await import('@bistable/backend-gpujs');
  return core
    .registeredBackends()
    .filter((r) => r.priority >= 0)
    .map((r) => ({ name: r.name, priority: r.priority, description: r.description ?? '' }));
}

/** Each registered backend's priority. */
export async function backendPriorities(): Promise<Map<string, number>> {
  return new Map((await registeredOrder()).map((r) => [r.name, r.priority]));
}

/** Every bench file under data/bench, with its path relative to apps/docs. */
export function benchFiles(root: string): { source: string; file: BenchFile }[] {
  const dir = join(root, 'data', 'bench');
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .reverse()
    .map((f) => ({
      source: `data/bench/${f}`,
      file: JSON.parse(readFileSync(join(dir, f), 'utf8')) as BenchFile,
    }));
}

export default {
  watch: ['./bench/*.json'],
  async load(): Promise<BenchData> {
    const root = fileURLToPath(new URL('..', import.meta.url));
    const order = await registeredOrder();
    const priorities = new Map(order.map((r) => [r.name, r.priority]));
    const all = benchFiles(root);
    const files = all.filter((f) => !isEnsembleBench(f.file));
    return {
      priorities: order,
      ensemble: all.flatMap((f) =>
        isEnsembleBench(f.file) ? [ensembleTable(f.source, f.file as NodeBenchFile)] : [],
      ),
      node: files.filter((f) => !isBrowserBench(f.file)).map((f) => benchTable(f.source, f.file, priorities)),
      browser: files
        .filter((f) => isBrowserBench(f.file))
        .map((f) => benchTable(f.source, f.file, priorities)),
    };
  },
};
