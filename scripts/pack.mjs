#!/usr/bin/env node
// Packs every package into one folder (default: ./packs) with `pnpm pack`, which writes the
// workspace's `workspace:*` ranges as real versions (`npm pack` keeps them, and npm then refuses
// the tarball), and prints how to install them in a project of your own. Build first.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const root = new URL('..', import.meta.url).pathname;
export const PACKAGES = ['core', 'tasks', 'cli', 'backend-tfjs', 'backend-gpujs'];

/** Packs every package into `dest` (emptied first); returns the tarballs' absolute paths. */
export function packAll(dest, log = () => {}) {
  const out = resolve(dest);
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  for (const p of PACKAGES) {
    const dir = join(root, 'packages', p);
    if (!existsSync(join(dir, 'dist'))) throw new Error(`packages/${p} is not built: run 'pnpm build' first`);
    log(`$ pnpm pack --pack-destination ${out}   (packages/${p})`);
    execFileSync('npx', ['-y', 'pnpm@10.34.9', 'pack', '--pack-destination', out], {
      cwd: dir,
      stdio: ['ignore', 'ignore', 'inherit'],
    });
  }
  return readdirSync(out)
    .filter((f) => f.endsWith('.tgz'))
    .map((f) => join(out, f));
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  const tarballs = packAll(process.argv[2] ?? join(root, 'packs'));
  console.log(`packed ${tarballs.length} packages:\n${tarballs.map((t) => `  ${t}`).join('\n')}`);
  console.log(`\nin your project (npm):\n  npm install @tensorflow/tfjs@4 ${tarballs.join(' ')}`);
  console.log('\npnpm and yarn: see the install guide (each @bistable package pinned to its tarball)');
}
