import { join } from 'node:path';
import { writeFileAtomic } from '@bistable/core';
import { type BinaryAdditionResult, mean, standardError } from '@bistable/tasks';
import { csv } from './csv.js';
import type { LoadedRun } from './load-results.js';
import { readProvenance, studyWallSeconds } from './provenance.js';
import type { JobTiming } from './run-job.js';

export interface AccuracyPoint {
  cell: string;
  layers: number;
  length: number;
  mean: number;
  /** Standard error of the mean over repeats (sample std, ddof = 1, / √n); null for one repeat. */
  sem: number | null;
  n: number;
}

/** Mean and SEM of test accuracy per (cell, layers, L) over the repeats of a binary-addition study. */
export function accuracyOverRepeats(results: BinaryAdditionResult[]): AccuracyPoint[] {
  const groups = new Map<string, { cell: string; layers: number; byLength: Map<number, number[]> }>();
  for (const r of results) {
    const key = `${r.config.cell}/${r.config.layers}`;
    let g = groups.get(key);
    if (!g) {
      g = { cell: r.config.cell, layers: r.config.layers, byLength: new Map() };
      groups.set(key, g);
    }
    for (const t of r.test) {
      const list = g.byLength.get(t.length) ?? [];
      list.push(t.accuracy);
      g.byLength.set(t.length, list);
    }
  }
  const out: AccuracyPoint[] = [];
  for (const g of groups.values()) {
    for (const [length, accs] of [...g.byLength].sort((a, b) => a[0] - b[0])) {
      const sem = standardError(accs);
      out.push({
        cell: g.cell,
        layers: g.layers,
        length,
        mean: mean(accs),
        sem: Number.isNaN(sem) ? null : sem,
        n: accs.length,
      });
    }
  }
  return out;
}

/** One line per run: what `--json` prints and summary.json holds. */
export function runSummary(run: LoadedRun, timing: JobTiming | null) {
  const r = run.result;
  const common = {
    id: run.id,
    cell: r.config.cell,
    layers: r.config.layers,
    hidden: r.config.hidden,
    finished: run.finished,
    steps: r.steps,
    backend: timing?.backend ?? null,
    stepsPerSecond: timing?.stepsPerSecond ?? null,
    /** Over every session of the run (older folders recorded only the last session's). */
    wallSeconds: timing ? (timing.totalSeconds ?? timing.seconds) : null,
    /** Runs trained together with this one in its last session (`--ensemble`), sharing its wall time. */
    ensembleMembers: timing?.ensembleMembers ?? null,
  };
  if (r.task === 'copy-first-input') {
    return {
      ...common,
      length: r.config.length,
      epochs: r.epochs,
      finalTestLoss: r.validLoss.at(-1) ?? null,
      bestTestLoss: r.epochs > 0 ? r.bestValidLoss : null,
      solvedAtStep: r.solvedAtStep,
    };
  }
  const last = r.epochs.at(-1);
  return {
    ...common,
    epochs: r.epochs.length,
    finalValidLoss: last?.validLoss ?? null,
    finalValidAccuracy: last?.validAccuracy ?? null,
    testAccuracy: Object.fromEntries(r.test.map((t) => [t.length, t.accuracy])),
  };
}

/** summary.json (every run, and for binary addition the accuracy over repeats) and its CSV. */
export async function writeSummary(
  dir: string,
  task: string,
  runs: LoadedRun[],
  timings: Map<string, JobTiming | null>,
) {
  const lines = runs.map((r) => runSummary(r, timings.get(r.id) ?? null));
  const invocations = (await readProvenance(dir))?.invocations ?? [];
  const summary: Record<string, unknown> = {
    task,
    /** The study's wall time: every invocation that worked on this folder, end to end. */
    wallSeconds: studyWallSeconds(invocations),
    /**
     * The runs' own wall times added up (more than wallSeconds when runs went side by side); runs
     * of one ensemble share theirs, so each counts its share.
     */
    runSeconds: lines.reduce((a, r) => a + (r.wallSeconds ?? 0) / (r.ensembleMembers ?? 1), 0),
    invocations: invocations.length,
    runs: lines,
  };
  if (task === 'binary-addition') {
    const points = accuracyOverRepeats(runs.map((r) => r.result as BinaryAdditionResult));
    summary.testAccuracy = points;
    await writeFileAtomic(
      join(dir, 'test_accuracy.csv'),
      csv(
        ['cell', 'layers', 'length', 'mean', 'sem', 'n'],
        points.map((p) => [p.cell, p.layers, p.length, p.mean, p.sem, p.n]),
      ),
    );
  }
  await writeFileAtomic(join(dir, 'summary.json'), `${JSON.stringify(summary, null, 2)}\n`);
  return summary;
}
