// How a user installs the packed tarballs with each package manager, until the packages are on
// the registry. npm takes the tarballs as they are. pnpm and yarn would look the tarballs' own
// dependencies on each other (@bistable/core@0.1.0, …) up in the registry, so the project pins
// each @bistable package to its tarball: pnpm with `pnpm.overrides`, yarn with `resolutions`.
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { basename } from 'node:path';

/** The package name a tarball from `pnpm pack` holds: bistable-core-0.1.0.tgz → @bistable/core. */
export const packageOf = (tarball) => {
  const m = basename(tarball).match(/^bistable-(.+)-\d+\.\d+\.\d+.*\.tgz$/);
  if (!m) throw new Error(`not a bistable tarball: ${tarball}`);
  return `@bistable/${m[1]}`;
};

/**
 * A new project in `dir` with `extra` (registry packages, e.g. '@tensorflow/tfjs@4.22.0') and
 * the tarballs installed by `manager` ('npm' | 'pnpm' | 'yarn').
 */
export function installProject(manager, dir, tarballs, extra, run) {
  mkdirSync(dir, { recursive: true });
  const pins = Object.fromEntries(tarballs.map((t) => [packageOf(t), `file:${t}`]));
  const manifest = { name: `user-${manager}`, private: true, type: 'module' };
  if (manager === 'pnpm') manifest.pnpm = { overrides: pins };
  if (manager === 'yarn') manifest.resolutions = pins;
  writeFileSync(`${dir}/package.json`, `${JSON.stringify(manifest, null, 2)}\n`);
  if (manager === 'npm') {
    run('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error', ...extra, ...tarballs], dir);
  } else if (manager === 'pnpm') {
    run(
      'npx',
      ['-y', 'pnpm@10.34.9', 'add', '--config.confirmModulesPurge=false', ...extra, ...tarballs],
      dir,
    );
  } else if (manager === 'yarn') {
    // yarn 1 uses its own registry host unless told: give it the one npm is configured with
    const registry = execFileSync('npm', ['config', 'get', 'registry'], { encoding: 'utf8' }).trim();
    run(
      'npx',
      [
        '-y',
        'yarn@1.22.22',
        'add',
        '--non-interactive',
        '--silent',
        '--registry',
        registry,
        ...extra,
        ...tarballs,
      ],
      dir,
    );
  } else {
    throw new Error(`unknown package manager '${manager}'`);
  }
}
