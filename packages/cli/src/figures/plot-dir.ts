import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import {
  type BinaryAdditionResult,
  type CopyFirstInputResult,
  mean,
  movingAverageWindow,
  presetNotes,
  type TaskName,
  trailingMovingAverage,
} from '@bistable/tasks';
import { CliError } from '../exit-codes.js';
import { type LoadedRun, loadResults } from '../studies/load-results.js';
import { provenanceLines, readProvenance, wrap } from '../studies/provenance.js';
import { accuracyOverRepeats } from '../studies/summary.js';
import { writeFigure } from './render.js';
import {
  type AccuracyBand,
  copyFirstInputSpec,
  curriculumSpec,
  type EpochCurve,
  testAccuracySpec,
} from './specs.js';

/** What a preset's figure shows and what it does not, for presets that leave something out. */
function presetNote(task: TaskName, name: string): string[] {
  const note = presetNotes(task, name);
  return note ? wrap(note) : [];
}

/** At most `max` points of a long curve (the full series stays in the CSV files). */
function thin<T>(points: T[], max = 1500): T[] {
  if (points.length <= max) return points;
  const stride = Math.ceil(points.length / max);
  return points.filter((_, i) => i % stride === 0 || i === points.length - 1);
}

const groupBy = <T>(items: T[], key: (t: T) => number) => {
  const m = new Map<number, T[]>();
  for (const it of items) m.set(key(it), [...(m.get(key(it)) ?? []), it]);
  return [...m].sort((a, b) => a[0] - b[0]);
};

async function copyFigures(
  dir: string,
  runs: LoadedRun[],
  preset: string,
  provenance: string[],
): Promise<string[]> {
  const results = runs.map((r) => r.result as CopyFirstInputResult);
  const groups = groupBy(results, (r) => r.config.layers);
  const files: string[] = [];
  for (const [layers, rs] of groups) {
    const c = rs[0].config;
    const curves = rs.map((r) => {
      const ma = trailingMovingAverage(r.trainLoss, movingAverageWindow(r.config.length));
      return {
        cell: r.config.cell,
        length: r.config.length,
        points: thin(ma.map((loss, i) => ({ step: i + 1, loss }))),
      };
    });
    const windows = [...new Set(rs.map((r) => r.config.length))]
      .sort((a, b) => a - b)
      .map((T) => `${movingAverageWindow(T)} (T=${T})`)
      .join(', ');
    const subtitle = [
      `${preset} preset: ${layers} layers × ${c.hidden}, ${c.samples - c.testSamples} training samples, batch ${c.batchSize}`,
      `trailing moving average over ${windows} steps; dashed line: early stop at ${c.threshold}`,
      ...presetNote('copy-first-input', preset),
      ...provenance,
    ];
    const name = groups.length === 1 ? 'copy-first-input' : `copy-first-input-${layers}layer`;
    files.push(
      ...(await writeFigure(dir, name, copyFirstInputSpec(curves, { threshold: c.threshold, subtitle }))),
    );
  }
  return files;
}

async function binaryFigures(
  dir: string,
  runs: LoadedRun[],
  preset: string,
  provenance: string[],
): Promise<string[]> {
  const results = runs.map((r) => r.result as BinaryAdditionResult);
  const files: string[] = [];
  for (const [layers, rs] of groupBy(results, (r) => r.config.layers)) {
    const c = rs[0].config;
    const cells = [...new Set(rs.map((r) => r.config.cell))];
    // a repeat counts once it has finished; unfinished ones are named in the subtitle
    const done = rs.filter((r) => r.finished);
    const counts = cells.map((cell) => done.filter((r) => r.config.cell === cell).length);
    const [fewest, most] = [Math.min(...counts), Math.max(...counts)];
    const repeats =
      most === 0
        ? 'runs still going'
        : fewest === most
          ? `${most} repeat${most === 1 ? '' : 's'}`
          : `${fewest}–${most} finished repeats`;
    const about = `${preset} preset: ${layers} layer${layers === 1 ? '' : 's'} × ${c.hidden}, curriculum L = ${c.trainMin}..${c.trainMax}, ${c.epochsPerLength} epochs each, ${c.trainSamples} samples per length, batch ${c.batchSize}`;
    const tested = done.filter((r) => r.test.length > 0);
    if (tested.length > 0) {
      const points = accuracyOverRepeats(tested);
      const bands: AccuracyBand[] = cells.map((cell) => ({
        cell,
        points: points
          .filter((p) => p.cell === cell)
          .map((p) => ({
            length: p.length,
            mean: p.mean,
            low: p.mean - (p.sem ?? 0),
            high: p.mean + (p.sem ?? 0),
          })),
      }));
      const subtitle = [
        about,
        `mean ± SEM over ${repeats}; dotted line: longest trained length`,
        ...presetNote('binary-addition', preset),
        ...provenance,
      ];
      files.push(
        ...(await writeFigure(
          dir,
          `binary-addition-test-accuracy-${layers}layer`,
          testAccuracySpec(bands, { layers, trainMax: c.trainMax, subtitle }),
        )),
      );
    }
    for (const metric of ['loss', 'accuracy'] as const) {
      const curves: EpochCurve[] = cells.flatMap((cell) =>
        (['train', 'validation'] as const).map((split) => {
          const all = rs.filter((r) => r.config.cell === cell);
          const mine = all.some((r) => r.finished) ? all.filter((r) => r.finished) : all;
          const n = Math.min(...mine.map((r) => r.epochs.length));
          const pick = (e: BinaryAdditionResult['epochs'][number]) =>
            split === 'train'
              ? metric === 'loss'
                ? e.trainLoss
                : e.trainAccuracy
              : metric === 'loss'
                ? e.validLoss
                : e.validAccuracy;
          const points = Array.from({ length: n }, (_, i) => ({
            epoch: i + 1,
            value: mean(mine.map((r) => pick(r.epochs[i]))),
          }));
          return { cell, split, points };
        }),
      );
      const subtitle = [
        about,
        `mean over ${repeats}; train: all batches of each epoch, validation: all its samples`,
        ...provenance,
      ];
      files.push(
        ...(await writeFigure(
          dir,
          `binary-addition-${metric}-${layers}layer`,
          curriculumSpec(curves, { metric, layers, subtitle }),
        )),
      );
    }
  }
  return files;
}

/** Draws every figure of a results folder into `<dir>/figures`; returns the files written. */
export async function plotResults(dir: string): Promise<string[]> {
  const { manifest, runs } = await loadResults(dir);
  if (runs.length === 0) throw new CliError(`'${dir}' holds no results yet (no run has finished an epoch)`);
  const out = join(dir, 'figures');
  await mkdir(out, { recursive: true });
  const provenance = provenanceLines(await readProvenance(dir));
  const unfinished = runs.filter((r) => !r.finished).map((r) => r.id);
  if (unfinished.length > 0) provenance.push(`still running or stopped early: ${unfinished.join(', ')}`);
  const loaded = new Set(runs.map((r) => r.id));
  const notStarted = manifest.runs.filter((id) => !loaded.has(id));
  if (notStarted.length > 0) provenance.push(`not started yet: ${notStarted.join(', ')}`);
  return manifest.study.task === 'copy-first-input'
    ? copyFigures(out, runs, manifest.preset, provenance)
    : binaryFigures(out, runs, manifest.preset, provenance);
}
