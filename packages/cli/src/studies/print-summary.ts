import { printTable } from '../table.js';
import { formatDuration } from './provenance.js';

const num = (v: unknown, digits = 4) => (typeof v === 'number' ? v.toPrecision(digits) : '-');

/** The human form of a study's summary: one row per run, then where the files are. */
export function printStudySummary(s: Record<string, unknown>): void {
  const runs = (s.runs ?? []) as Record<string, unknown>[];
  if (s.task === 'copy-first-input') {
    printTable(
      ['run', 'steps', 'final test MSE', 'solved at step', 'steps/s'],
      runs.map((r) => [
        String(r.id),
        String(r.steps),
        num(r.finalTestLoss),
        r.solvedAtStep === null ? 'not solved' : String(r.solvedAtStep),
        num(r.stepsPerSecond, 3),
      ]),
    );
  } else {
    printTable(
      ['run', 'steps', 'final valid acc', 'test accuracy by L', 'steps/s'],
      runs.map((r) => {
        const acc = Object.entries((r.testAccuracy ?? {}) as Record<string, number>);
        const first = acc[0];
        const last = acc.at(-1);
        return [
          String(r.id),
          String(r.steps),
          num(r.finalValidAccuracy, 3),
          first && last
            ? `L=${first[0]}: ${first[1].toFixed(3)} .. L=${last[0]}: ${last[1].toFixed(3)}`
            : '-',
          num(r.stepsPerSecond, 3),
        ];
      }),
    );
  }
  console.log(`results in ${String(s.out)} (backend ${String(s.backend)})`);
  if (typeof s.wallSeconds === 'number' && typeof s.runSeconds === 'number') {
    const over = Number(s.invocations) > 1 ? ` over ${String(s.invocations)} invocations` : '';
    console.log(
      `wall time ${formatDuration(s.wallSeconds)}${over}; the runs took ${formatDuration(s.runSeconds)} together`,
    );
  }
  const figures = (s.figures ?? []) as string[];
  if (figures.length) console.log(`figures: ${figures.filter((f) => f.endsWith('.png')).join(', ')}`);
}
