#!/usr/bin/env node
// Every package as a user gets it: `pnpm pack` each one, check what the tarball holds with
// publint and @arethetypeswrong/cli, install the tarballs with npm into an empty folder outside
// the monorepo next to the user's own @tensorflow/tfjs, and run the README's examples and a tfjs
// user's script there; then install them with pnpm and yarn and run that script again. Exits
// non-zero on the first failure.
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { packAll } from './pack.mjs';
import { installProject } from './pack-check/install.mjs';

const root = new URL('..', import.meta.url).pathname;
const here = new URL('.', import.meta.url).pathname;
/** The user's own tfjs: bistable's tfjs packages are its peers. */
const TFJS = '@tensorflow/tfjs@4.22.0';
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
  const tarballs = packAll(packs, console.log);
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

  // a user's project: npm, no workspace, the tarballs and the user's own tfjs from the registry
  installProject('npm', user, tarballs, [TFJS], run);

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

  // a tfjs user's script: bistable's layers in the user's tfjs, fit, save, load; GRU beside them
  copyFileSync(join(here, 'pack-check', 'tfjs-user.mjs'), join(user, 'tfjs-user.mjs'));
  process.stdout.write(run('node', ['tfjs-user.mjs'], user));

  // pnpm and yarn install the same tarballs; the tfjs user's script runs there too
  // (without backend-gpujs: gpu.js builds headless-gl from source, minutes that npm's run covers)
  const withoutGpujs = tarballs.filter((t) => !/bistable-backend-gpujs-/.test(t));
  for (const manager of ['pnpm', 'yarn']) {
    const dir = join(work, `user-${manager}`);
    const t0 = performance.now();
    installProject(manager, dir, withoutGpujs, [TFJS], run);
    console.log(`${manager} install: ${((performance.now() - t0) / 1000).toFixed(0)} s`);
    copyFileSync(join(here, 'pack-check', 'tfjs-user.mjs'), join(dir, 'tfjs-user.mjs'));
    process.stdout.write(run('node', ['tfjs-user.mjs'], dir));
  }
  const installed = JSON.parse(
    readFileSync(join(user, 'node_modules', '@bistable', 'cli', 'package.json'), 'utf8'),
  );
  console.log(
    `pack-check: ${tarballs.length} packages packed, linted and installed outside the monorepo (cli ${installed.version})`,
  );
} finally {
  rmSync(work, { recursive: true, force: true });
}
