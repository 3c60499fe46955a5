import { mkdir, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { sha256Hex, writeFileAtomic } from '@bistable/core';
import { canonicalJson, changedSettings, type RunSpec, type Study } from '@bistable/tasks';
import { CliError } from '../exit-codes.js';

export const MANIFEST = 'study.json';
const FORMAT = 'bistable-study';

/** What a results folder holds: written first, checked on --resume. */
export interface Manifest {
  format: typeof FORMAT;
  version: 1;
  command: 'train' | 'reproduce';
  preset: string;
  study: Study;
  runs: string[];
  created: string;
}

export function manifestFor(
  command: Manifest['command'],
  preset: string,
  study: Study,
  runs: RunSpec[],
): Manifest {
  return {
    format: FORMAT,
    version: 1,
    command,
    preset,
    study,
    runs: runs.map((r) => r.id),
    created: new Date().toISOString(),
  };
}

export const runDir = (out: string, id: string) => join(out, 'runs', id);

/** The manifest of a results folder, or null when it has none. */
export async function readManifest(dir: string): Promise<Manifest | null> {
  let text: string;
  try {
    text = await readFile(join(dir, MANIFEST), 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return null;
    throw new CliError(`cannot read '${join(dir, MANIFEST)}': ${code ?? String(err)}`);
  }
  let m: Manifest;
  try {
    m = JSON.parse(text) as Manifest;
  } catch {
    throw new CliError(`'${join(dir, MANIFEST)}' is not valid JSON; is this a bistable results folder?`);
  }
  if (m?.format !== FORMAT || !m.study || !Array.isArray(m.runs)) {
    throw new CliError(`'${join(dir, MANIFEST)}' is not a bistable study manifest`);
  }
  return m;
}

async function entries(dir: string): Promise<string[] | null> {
  try {
    return await readdir(dir);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return null;
    if (code === 'ENOTDIR') throw new CliError(`output path '${dir}' is a file, not a folder`);
    throw new CliError(`cannot read output folder '${dir}': ${code ?? String(err)}`);
  }
}

/**
 * A study's lists of cells, lengths and layer counts name a set of runs; their order only decides
 * which run goes first. Compared as sets, a study can resume with its remaining runs reordered.
 */
function asSets(study: Study): Record<string, unknown> {
  const s = { ...study } as unknown as Record<string, unknown>;
  for (const k of ['cells', 'lengths', 'layers']) {
    if (Array.isArray(s[k])) s[k] = [...(s[k] as (string | number)[])].sort();
  }
  return s;
}

/**
 * Makes `dir` ready for a run. A folder holding another run is refused unless `resume`, and then
 * only when it holds the same study (any setting that differs is named).
 */
export async function prepareOutDir(
  dir: string,
  manifest: Manifest,
  resume: boolean,
): Promise<'fresh' | 'resumed'> {
  const existing = await readManifest(dir);
  if (existing) {
    if (!resume) {
      throw new CliError(
        `output folder '${dir}' holds another run (${existing.study.task}, started ${existing.created}); ` +
          'pass --resume to continue it, or choose another --out',
      );
    }
    const had = asSets(existing.study);
    const want = asSets(manifest.study);
    const diffs = changedSettings(had, want).map(
      (k) => `${k}: ${canonicalJson(had[k])} there, ${canonicalJson(want[k])} now`,
    );
    if (diffs.length > 0) {
      throw new CliError(`cannot resume '${dir}': it holds a run with other settings (${diffs.join('; ')})`);
    }
    return 'resumed';
  }
  // --resume on a folder with nothing in it starts the run, so that a resumable command can be
  // repeated as it is
  const list = await entries(dir);
  if (list && list.length > 0) {
    throw new CliError(`output folder '${dir}' is not empty and holds no bistable run; choose another --out`);
  }
  await mkdir(join(dir, 'runs'), { recursive: true });
  await writeFileAtomic(join(dir, MANIFEST), `${JSON.stringify(manifest, null, 2)}\n`);
  return 'fresh';
}

/** A short id of a study's settings (runs in any order): what a queue's jobs are tagged with. */
export function studyId(study: Study): string {
  return sha256Hex(new TextEncoder().encode(canonicalJson(asSets(study)))).slice(0, 16);
}
