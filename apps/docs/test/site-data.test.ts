import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ENVIRONMENTS } from '../.vitepress/theme/backend-environments.js';
import { documentedBackends } from '../.vitepress/theme/documented-backends.js';
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

  it('lists both studies', () => {
    expect(results.studies.map((s) => s.task).sort()).toEqual(['binary-addition', 'copy-first-input']);
  });

  it('gives every figure a file in public/, the command, the date and the machine', () => {
    for (const f of results.studies.flatMap((s) => s.figures)) {
      expect(f.file, JSON.stringify(f)).toMatch(/^\/figures\//);
      expect(existsSync(join(root, 'public', f.file)), `${f.file} is missing from public/`).toBe(true);
      for (const key of ['caption', 'command', 'date', 'machine'] as const) {
        expect(f[key]?.trim(), `${f.file}: ${key}`).toBeTruthy();
      }
    }
  });

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
