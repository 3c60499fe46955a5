#!/usr/bin/env node
// Publishes a results folder on the results page: copies its series (JSON and CSV, never the
// checkpoints) into data/studies/<name>/, draws its figures there with `bistable plot`, and
// puts the SVGs under public/figures/<name>/. The page reads only what this writes, so every
// number on it comes from a run. A later session continues the study with
//   cp -r apps/docs/data/studies/<name> results/<name> && bistable reproduce … --resume --out results/<name>
// (finished runs are kept; unfinished ones start over, as no checkpoint is published; their
// progress.json only shows how far they got).
import {
  cpSync,
  existsSync,
  mkdirSync,
  readdirSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runCli } from '@bistable/cli';
import { readProgress } from '@bistable/tasks';

const docs = join(dirname(fileURLToPath(import.meta.url)), '..');
const [source, name = source && basename(resolve(source))] = process.argv.slice(2);
if (!source || !existsSync(join(source, 'study.json'))) {
  console.error('usage: node scripts/import-study.mjs RESULTS_DIR [NAME]  (a folder with a study.json)');
  process.exit(2);
}
if (!/^[a-z0-9][a-z0-9.-]*$/.test(name)) {
  console.error(`import-study: name '${name}' must be lower-case letters, digits, dots and dashes`);
  process.exit(2);
}

/** The series of a results folder: what a reader or a resumed study needs, without weights. */
const KEEP = /\.(json|csv)$/;
const copySeries = async (from, to) => {
  mkdirSync(to, { recursive: true });
  // an unfinished run publishes how far it got (its checkpoint's progress, without the weights)
  const checkpoint = join(from, 'checkpoint.safetensors');
  if (!existsSync(join(from, 'result.json')) && existsSync(checkpoint)) {
    const progress = await readProgress(checkpoint);
    if (progress) writeFileSync(join(to, 'progress.json'), `${JSON.stringify(progress)}\n`);
  }
  for (const entry of readdirSync(from)) {
    const src = join(from, entry);
    if (statSync(src).isDirectory()) {
      if (entry !== 'figures') await copySeries(src, join(to, entry));
    } else if (KEEP.test(entry)) {
      cpSync(src, join(to, entry));
    }
  }
};

// build the copy beside its final place and swap it in, so a failed import leaves the old one
const target = join(docs, 'data', 'studies', name);
const staging = `${target}.tmp-${process.pid}`;
rmSync(staging, { recursive: true, force: true });
await copySeries(source, staging);
const code = await runCli(['plot', staging]);
if (code !== 0) {
  rmSync(staging, { recursive: true, force: true });
  console.error(`import-study: bistable plot failed (exit ${code}); nothing was changed`);
  process.exit(code);
}

const figures = join(docs, 'public', 'figures', name);
const stagingFigures = `${figures}.tmp-${process.pid}`;
mkdirSync(stagingFigures, { recursive: true });
for (const f of readdirSync(join(staging, 'figures'))) {
  if (f.endsWith('.svg')) cpSync(join(staging, 'figures', f), join(stagingFigures, f));
}
rmSync(join(staging, 'figures'), { recursive: true, force: true });
for (const [from, to] of [
  [staging, target],
  [stagingFigures, figures],
]) {
  rmSync(to, { recursive: true, force: true });
  renameSync(from, to);
}
console.log(`published ${source} as data/studies/${name} with ${readdirSync(figures).length} figures`);
