import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { planRuns, preset, type Study } from '@bistable/tasks';
import { afterAll, describe, expect, it } from 'vitest';
import { manifestFor, prepareOutDir } from '../src/studies/out-dir.js';

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

const study = (over: Partial<Study>): Study => ({ ...preset('copy-first-input', 'paper'), ...over }) as Study;
const manifest = (s: Study) => manifestFor('reproduce', 'paper', s, planRuns(s));

describe('resuming a results folder', () => {
  it('takes the same runs in another order, and refuses other runs, naming the setting', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'bistable-outdir-'));
    dirs.push(dir);
    const first = study({ lengths: [100, 5], cells: ['nBRC', 'GRU'] });
    expect(await prepareOutDir(dir, manifest(first), false)).toBe('fresh');
    const reordered = study({ lengths: [5, 100], cells: ['GRU', 'nBRC'] });
    expect(await prepareOutDir(dir, manifest(reordered), true)).toBe('resumed');
    const other = study({ lengths: [5, 300], cells: ['GRU', 'nBRC'] });
    await expect(prepareOutDir(dir, manifest(other), true)).rejects.toThrow(
      /other settings \(lengths: \[100,5\] there, \[300,5\] now\)/,
    );
  });
});
