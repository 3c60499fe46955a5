import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { formatDuration, type Invocation, studyWallSeconds } from '@bistable/cli';
import {
  type BinaryAdditionResult,
  bySeedOrder,
  type CopyFirstInputResult,
  formatPublished,
  mean,
  movingAverageWindow,
  PUBLISHED_BINARY_ADDITION,
  PUBLISHED_COPY_FIRST_INPUT,
  plannedSteps,
  planRuns,
  preset,
  type RunSpec,
  type Study,
  standardError,
  stepWork,
  type TaskName,
  trailingMovingAverage,
} from '@bistable/tasks';

/**
 * The studies published on the results page, read from data/studies/<name>/ (written by
 * scripts/import-study.mjs from a real results folder). Everything here is computed from those
 * files when the site is built; nothing is typed in by hand but the reference package's numbers,
 * which come from @bistable/tasks.
 */
export interface RunRow {
  id: string;
  /** False for a run that has not finished: its numbers are how far it got. */
  finished: boolean;
  cell: string;
  layers: number;
  /** T for copy-first-input; null for binary addition. */
  length: number | null;
  steps: number;
  epochs: number;
  /** Copy-first-input: final test MSE; binary addition: test accuracy at the longest test length. */
  final: number;
  /** Copy-first-input: the step at whose epoch end test MSE fell below the threshold. */
  solvedAtStep: number | null;
  stepsPerSecond: number | null;
  wallSeconds: number | null;
  /** wallSeconds as the CLI prints it. */
  wall: string;
}

export interface ComparisonRow {
  cell: string;
  /** "T = 100" or "1 layer". */
  setting: string;
  /** What bistable measured, formatted, with how many runs it is over. */
  ours: string;
  published: string;
  /** What was compared: the same quantity as the reference package's figure. */
  measure: string;
}

export interface PublishedStudy {
  name: string;
  task: TaskName;
  preset: string;
  study: Study;
  /** Dates, machines, backends, wall time and the first command. */
  invocations: Invocation[];
  wallSeconds: number;
  runSeconds: number;
  /** The two as the CLI prints them. */
  wall: string;
  runsWall: string;
  runs: RunRow[];
  /** Runs of the study with no finished result yet (still to run, or to resume). */
  pending: string[];
  figures: string[];
  comparison: ComparisonRow[];
  /** Settings that differ from the task's paper preset (empty: the paper's sizes). */
  differsFromPaper: string[];
}

const readJson = <T>(path: string): T => JSON.parse(readFileSync(path, 'utf8')) as T;

interface Timing {
  seconds: number;
  stepsPerSecond: number;
  totalSeconds?: number;
  totalSteps?: number;
}

/** Finished runs from result.json, unfinished ones from the progress.json of their last epoch. */
function loadRuns(dir: string, ids: string[]) {
  type Loaded = { id: string; result: CopyFirstInputResult | BinaryAdditionResult; timing: Timing | null };
  const runs: Loaded[] = [];
  for (const id of ids) {
    const rd = join(dir, 'runs', id);
    const file = ['result.json', 'progress.json'].map((f) => join(rd, f)).find((f) => existsSync(f));
    if (!file) continue;
    const result = readJson<Loaded['result']>(file);
    const timing = existsSync(join(rd, 'timing.json')) ? readJson<Timing>(join(rd, 'timing.json')) : null;
    runs.push({ id, result, timing });
  }
  return runs;
}

const fmt = (v: number, digits = 3) => (Number.isFinite(v) ? v.toFixed(digits) : '-');

/** Copy-first-input: the figure's quantity (moving-average training MSE) at the figure's last step. */
function copyComparison(runs: ReturnType<typeof loadRuns>): ComparisonRow[] {
  const rows: ComparisonRow[] = [];
  for (const { result } of runs) {
    const r = result as CopyFirstInputResult;
    const published = PUBLISHED_COPY_FIRST_INPUT[r.config.length]?.[r.config.cell];
    if (!published) continue;
    const window = movingAverageWindow(r.config.length);
    const ma = trailingMovingAverage(r.trainLoss, window);
    const at = Math.min(ma.length, 5400);
    const sofar = r.finished ? '' : ' (unfinished)';
    const test = `test ${fmt(r.validLoss.at(-1) ?? Number.NaN)} after ${r.steps}${sofar}`;
    // at T = 5 the figure shows when each curve crosses 0.1; at T >= 100 where it ends
    const below = ma.findIndex((v) => v < r.config.threshold);
    const ours =
      r.config.length <= 5
        ? `${below < 0 ? `not below ${r.config.threshold}` : `below ${r.config.threshold} by step ${below + 1}`}; ${test}`
        : `${fmt(ma[at - 1])} at step ${at}; ${test}`;
    rows.push({
      cell: r.config.cell,
      setting: `T = ${r.config.length}`,
      ours,
      published: formatPublished(published),
      measure:
        r.config.length <= 5
          ? `T = ${r.config.length}: bistable's moving-average training MSE (window ${window}) crosses ${r.config.threshold} at that step; brc_pytorch: ${published.where}`
          : `T = ${r.config.length}: bistable's moving-average training MSE (window ${window}) at the step the published curves end (or its last), and the test MSE after the run; brc_pytorch: ${published.where}`,
    });
  }
  const T = (r: ComparisonRow) => Number(r.setting.replace(/\D/g, ''));
  return rows.sort((a, b) => T(a) - T(b) || bySeedOrder(a.cell, b.cell));
}

/** Binary addition: mean ± SEM of test accuracy at the longest test length, per cell and depth. */
function binaryComparison(runs: ReturnType<typeof loadRuns>): ComparisonRow[] {
  const groups = new Map<string, BinaryAdditionResult[]>();
  for (const { result } of runs) {
    const r = result as BinaryAdditionResult;
    if (!r.finished) continue;
    const key = `${r.config.layers}/${r.config.cell}`;
    groups.set(key, [...(groups.get(key) ?? []), r]);
  }
  const rows: ComparisonRow[] = [];
  for (const rs of groups.values()) {
    const { cell, layers, testMax } = rs[0].config;
    const accs = rs.map((r) => r.test.find((t) => t.length === testMax)?.accuracy ?? Number.NaN);
    const sem = standardError(accs);
    rows.push({
      cell,
      setting: `${layers} layer${layers === 1 ? '' : 's'}`,
      ours: `${fmt(mean(accs))}${Number.isNaN(sem) ? '' : ` ± ${fmt(sem)}`} (${accs.length} repeat${accs.length === 1 ? '' : 's'})`,
      published: testMax === 60 ? formatPublished(PUBLISHED_BINARY_ADDITION[layers]?.[cell]) : '-',
      measure: `test accuracy at L = ${testMax} (trained up to ${rs[0].config.trainMax}), mean ± SEM over repeats; brc_pytorch: its published figure, mean of 5 repeats`,
    });
  }
  return rows.sort((a, b) => a.setting.localeCompare(b.setting) || bySeedOrder(a.cell, b.cell));
}

/** The paper preset's settings this study changed (cells and lengths subsets are not changes). */
function differences(study: Study): string[] {
  const paper = preset(study.task, 'paper') as unknown as Record<string, unknown>;
  const mine = study as unknown as Record<string, unknown>;
  const ignore = new Set(['cells', 'lengths', 'layers', 'seed']);
  return Object.keys(paper)
    .filter((k) => !ignore.has(k) && JSON.stringify(paper[k]) !== JSON.stringify(mine[k]))
    .map((k) => `${k} ${JSON.stringify(mine[k])} (paper ${JSON.stringify(paper[k])})`);
}

export function loadPublishedStudies(root: string): PublishedStudy[] {
  const base = join(root, 'data', 'studies');
  if (!existsSync(base)) return [];
  return readdirSync(base)
    .filter((name) => existsSync(join(base, name, 'study.json')))
    .sort()
    .map((name) => {
      const dir = join(base, name);
      const manifest = readJson<{ preset: string; study: Study; runs: string[] }>(join(dir, 'study.json'));
      const provenance = existsSync(join(dir, 'provenance.json'))
        ? readJson<{ invocations: Invocation[] }>(join(dir, 'provenance.json')).invocations
        : [];
      const runs = loadRuns(dir, manifest.runs);
      const finished = new Set(runs.filter((r) => r.result.finished).map((r) => r.id));
      const figureDir = join(root, 'public', 'figures', name);
      const rows: RunRow[] = runs.map(({ id, result, timing }) => {
        const c = result.config;
        const copy = result.task === 'copy-first-input';
        return {
          id,
          finished: result.finished,
          cell: c.cell,
          layers: c.layers,
          length: copy ? (result as CopyFirstInputResult).config.length : null,
          steps: result.steps,
          epochs: copy
            ? (result as CopyFirstInputResult).epochs
            : (result as BinaryAdditionResult).epochs.length,
          final: copy
            ? ((result as CopyFirstInputResult).validLoss.at(-1) ?? Number.NaN)
            : ((result as BinaryAdditionResult).test.at(-1)?.accuracy ?? Number.NaN),
          solvedAtStep: copy ? (result as CopyFirstInputResult).solvedAtStep : null,
          stepsPerSecond: timing
            ? (timing.totalSteps ?? result.steps) / (timing.totalSeconds ?? timing.seconds)
            : null,
          wallSeconds: timing ? (timing.totalSeconds ?? timing.seconds) : null,
          wall: timing ? formatDuration(timing.totalSeconds ?? timing.seconds) : '-',
        };
      });
      const wallSeconds = studyWallSeconds(provenance);
      const runSeconds = rows.filter((r) => r.finished).reduce((a, r) => a + (r.wallSeconds ?? 0), 0);
      return {
        name,
        task: manifest.study.task,
        preset: manifest.preset,
        study: manifest.study,
        invocations: provenance,
        wallSeconds,
        runSeconds,
        wall: formatDuration(wallSeconds),
        runsWall: formatDuration(runSeconds),
        runs: rows,
        pending: manifest.runs.filter((id) => !finished.has(id)),
        figures: existsSync(figureDir)
          ? readdirSync(figureDir)
              .filter((f) => f.endsWith('.svg'))
              // the study's main figure (test accuracy against L) before the training curves
              .sort(
                (a, b) =>
                  Number(b.includes('test-accuracy')) - Number(a.includes('test-accuracy')) ||
                  a.localeCompare(b),
              )
              .map((f) => `/figures/${name}/${f}`)
          : [],
        comparison:
          manifest.study.task === 'copy-first-input' ? copyComparison(runs) : binaryComparison(runs),
        differsFromPaper: differences(manifest.study),
      };
    });
}

export interface Projection {
  task: TaskName;
  runs: number;
  measured: number;
  /** Seconds of one core, every run of the paper preset one after the other. */
  coreSeconds: number;
  /** With two runs side by side on two cores, as these were measured. */
  twoCoreSeconds: number;
  core: string;
  twoCore: string;
  basis: string;
}

/**
 * The whole paper preset's time on the machine these studies ran on: finished runs count what
 * they took; every other run takes its planned steps at the rate (seconds per multiply-add) that
 * the same cell ran at in the same task, scaled by its work per step.
 */
export function projectPaperPreset(studies: PublishedStudy[], task: TaskName): Projection | null {
  const mine = studies.filter((s) => s.task === task && s.preset === 'paper');
  const paperRuns = planRuns(preset(task, 'paper'));
  const byId = new Map<string, { row: RunRow; spec: RunSpec }>();
  const rate = new Map<string, number[]>();
  for (const s of mine) {
    const specs = new Map(planRuns(s.study).map((r) => [r.id, r]));
    for (const row of s.runs) {
      const spec = specs.get(row.id);
      if (!spec || row.wallSeconds === null) continue;
      if (row.finished) byId.set(row.id, { row, spec });
      rate.set(row.cell, [...(rate.get(row.cell) ?? []), row.wallSeconds / (row.steps * stepWork(spec))]);
    }
  }
  if (rate.size === 0) return null;
  const anyRate = mean([...rate.values()].flat());
  let coreSeconds = 0;
  let measured = 0;
  for (const spec of paperRuns) {
    const done = byId.get(spec.id);
    if (done && done.row.wallSeconds !== null) {
      coreSeconds += done.row.wallSeconds;
      measured++;
      continue;
    }
    const r = rate.has(spec.config.cell) ? mean(rate.get(spec.config.cell)!) : anyRate;
    coreSeconds += r * stepWork(spec) * plannedSteps(spec);
  }
  return {
    task,
    runs: paperRuns.length,
    measured,
    coreSeconds,
    twoCoreSeconds: coreSeconds / 2,
    core: formatDuration(coreSeconds),
    twoCore: formatDuration(coreSeconds / 2),
    basis:
      'finished runs as they took; the rest at their planned (largest) step count and the rate their cell ran at here, scaled by work per step',
  };
}
