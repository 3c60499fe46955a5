import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ENVIRONMENTS } from '../.vitepress/theme/backend-environments.js';
import { documentedBackends } from '../.vitepress/theme/documented-backends.js';
import { loadPublishedStudies } from '../data/published-studies.js';
import type { Results } from '../data/results-schema.js';

const root = fileURLToPath(new URL('..', import.meta.url));

describe('the install page’s backend table', () => {
  it('says where every catalogued or core-registered backend runs, and of no other', () => {
    // this test imports only core, so the extras are what core registers by itself
    expect(Object.keys(ENVIRONMENTS).sort()).toEqual(
      documentedBackends()
        .map((e) => e.name)
        .sort(),
    );
  });
});

describe('results.json', () => {
  const results = JSON.parse(readFileSync(join(root, 'data', 'results.json'), 'utf8')) as Results;

  it('gives every benchmark table the command, the date, the machine and full rows', () => {
    for (const b of results.benchmarks) {
      for (const key of ['title', 'command', 'date', 'machine'] as const) {
        expect(b[key]?.trim(), `${b.title}: ${key}`).toBeTruthy();
      }
      for (const row of b.rows)
        expect(row.length, `${b.title}: ${JSON.stringify(row)}`).toBe(b.columns.length);
    }
  });
});

describe('the published studies (data/studies)', () => {
  const studies = loadPublishedStudies(root);

  it('cover both tasks, the paper preset of each among them', () => {
    for (const task of ['copy-first-input', 'binary-addition']) {
      expect(
        studies.some((s) => s.task === task && s.preset === 'paper'),
        task,
      ).toBe(true);
    }
  });

  it('state date, machine, backend, command and wall time, and hold figures in public/', () => {
    for (const s of studies) {
      expect(s.invocations.length, s.name).toBeGreaterThan(0);
      for (const i of s.invocations) {
        expect(i.command, s.name).toMatch(/^(BISTABLE_\w+=\S+ )*bistable (reproduce|train) /);
        expect(i.machine, s.name).toMatch(/cores.*Node v\d+/);
        expect(Date.parse(i.started), s.name).not.toBeNaN();
        expect(i.backend, s.name).toBeTruthy();
      }
      expect(s.wallSeconds, s.name).toBeGreaterThan(0);
      expect(s.runs.length, `${s.name}: finished runs`).toBeGreaterThan(0);
      expect(s.figures.length, `${s.name}: figures`).toBeGreaterThan(0);
      for (const f of s.figures) {
        const svg = readFileSync(join(root, 'public', f), 'utf8');
        // the figure itself names its date and the command (the subtitle), not only the page
        expect(svg, f).toContain(s.invocations[0].started.slice(0, 10));
        expect(svg, f).toContain('wall time');
      }
    }
  });

  it('compares every finished paper-preset result with the reference package beside it', () => {
    for (const s of studies.filter((x) => x.preset === 'paper')) {
      expect(s.comparison.length, s.name).toBeGreaterThan(0);
      for (const c of s.comparison) expect(c.published, `${s.name} ${c.cell} ${c.setting}`).not.toBe('-');
    }
  });

  it('publish no checkpoints (the series are enough to plot and to resume finished runs)', () => {
    const walk = (d: string): string[] =>
      readdirSync(d, { withFileTypes: true }).flatMap((e) =>
        e.isDirectory() ? walk(join(d, e.name)) : [join(d, e.name)],
      );
    const files = walk(join(root, 'data', 'studies'));
    expect(files.filter((f) => !/\.(json|csv)$/.test(f))).toEqual([]);
  });
});
