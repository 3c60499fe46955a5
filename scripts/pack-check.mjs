#!/usr/bin/env node
// Every package as a user gets it: `pnpm pack` each one, check what the tarball holds with
// publint and @arethetypeswrong/cli, install the tarballs with npm into an empty folder outside
// the monorepo, and run the README's examples there. Exits non-zero on the first failure.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const packages = ['core', 'tasks', 'cli', 'backend-tfjs', 'backend-gpujs'];
/** Test-only and device-only modules: built for the scripts, never shipped. */
const NOT_SHIPPED = [/\/webgpu\/check-main\./, /\/webgpu\/profile\./, /\/test\//, /\.test\./];

const work = mkdtempSync(join(tmpdir(), 'bistable-pack-'));
const packs = join(work, 'packs');
const user = join(work, 'user');
const run = (cmd, args, cwd, extra = {}) => {
  console.log(`$ ${[cmd, ...args].join(' ')}`);
  return execFileSync(cmd, args, { cwd, stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8', ...extra });
};
const bin = (name) => join(root, 'node_modules', '.bin', name);

try {
  for (const p of packages)
    run('npx', ['-y', 'pnpm@10.34.9', 'pack', '--pack-destination', packs], join(root, 'packages', p));
  const tarballs = readdirSync(packs).map((f) => join(packs, f));
  for (const t of tarballs) {
    const files = run('tar', ['tzf', t], work).trim().split('\n');
    const stray = files.filter((f) => NOT_SHIPPED.some((re) => re.test(f)));
    if (stray.length) throw new Error(`${t} ships files it should not: ${stray.join(', ')}`);
    const manifest = JSON.parse(run('tar', ['xzf', t, '-O', 'package/package.json'], work));
    const workspace = JSON.stringify(manifest).match(/"workspace:[^"]*"/);
    if (workspace) throw new Error(`${t} still has a ${workspace[0]} dependency`);
    process.stdout.write(run(bin('publint'), ['--strict', t], work));
    // ESM-only packages: the CommonJS resolution modes do not apply
    process.stdout.write(run(bin('attw'), [t, '--profile', 'esm-only', '--format', 'ascii'], work));
  }

  // a user's project: npm, no workspace, only the tarballs
  run('mkdir', ['-p', user], work);
  writeFileSync(join(user, 'package.json'), JSON.stringify({ name: 'user', private: true, type: 'module' }));
  run('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error', ...tarballs], user);

  // the README's commands
  const backends = JSON.parse(run('npx', ['bistable', 'backends', '--json'], user));
  if (!backends.some((b) => b.name === 'cpu' && b.available))
    throw new Error('the cpu backend is not available');
  run('npx', ['bistable', 'verify', '--backend', 'cpu', '--dtype', 'float32'], user);
  run('npx', ['bistable', 'verify', '--backend', 'tfjs-cpu'], user);
  run('npx', ['bistable', 'verify', '--backend', 'gpujs-cpu'], user);
  const tiny = [
    '--hidden',
    '8',
    '--length',
    '5',
    '--samples',
    '300',
    '--test-samples',
    '100',
    '--epochs',
    '1',
  ];
  const trained = JSON.parse(
    run(
      'npx',
      ['bistable', 'train', 'copy-first-input', '--cell', 'nBRC', ...tiny, '--out', 'run', '--json'],
      user,
    ),
  );
  if (trained.runs?.[0]?.steps !== 2) throw new Error(`train took ${trained.runs?.[0]?.steps} steps, not 2`);
  run('npx', ['bistable', 'plot', 'run'], user);

  // core's README example, with the backend packages imported as a user would
  writeFileSync(
    join(user, 'example.mjs'),
    `import { Adam, getBackend, SequenceModel } from '@bistable/core';
import '@bistable/backend-tfjs';
import '@bistable/backend-gpujs';
import { CopyFirstInput } from '@bistable/tasks';
for (const name of ['cpu', 'tfjs-cpu', 'gpujs-cpu']) {
  const backend = await getBackend(name);
  const model = new SequenceModel(backend, {
    cell: 'nBRC', inputSize: 1, hiddenSize: 16, numLayers: 2, readout: 'last', loss: 'mse', seed: 1,
  });
  const adam = new Adam(backend, [model]);
  const { x, y } = new CopyFirstInput(1, 10, 32, 0).batch([...Array(32).keys()]);
  const first = (await model.trainStep(x, y, adam)).loss;
  let last = first;
  for (let i = 0; i < 20; i++) last = (await model.trainStep(x, y, adam)).loss;
  if (!(last < first)) throw new Error(name + ': the loss did not fall (' + first + ' -> ' + last + ')');
  console.log(name + ': loss ' + first.toFixed(4) + ' -> ' + last.toFixed(4));
  model.dispose();
}
`,
  );
  process.stdout.write(run('node', ['example.mjs'], user));
  const installed = JSON.parse(
    readFileSync(join(user, 'node_modules', '@bistable', 'cli', 'package.json'), 'utf8'),
  );
  console.log(
    `pack-check: ${tarballs.length} packages packed, linted and installed outside the monorepo (cli ${installed.version})`,
  );
} finally {
  rmSync(work, { recursive: true, force: true });
}
