import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const pkg = join(dirname(fileURLToPath(import.meta.url)), '..');
export const bin = join(pkg, 'dist', 'bin.js');

/** Runs the built `bistable` binary as a user would. */
export function bistable(...args: string[]): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', timeout: 120_000 });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** Newest modification time under a folder (ms), 0 when it does not exist. */
function newest(dir: string): number {
  if (!existsSync(dir)) return 0;
  return Math.max(
    0,
    ...readdirSync(dir, { recursive: true, withFileTypes: true })
      .filter((e) => e.isFile())
      .map((e) => statSync(join(e.parentPath, e.name)).mtimeMs),
  );
}

/**
 * Rebuilds dist/ only when it is older than src/ (the root test script builds first; other test
 * files spawn dist/bin.js at the same time, so dist/ is not rewritten needlessly), so that a
 * test file that spawns the CLI also runs on its own.
 */
export function ensureBuilt(): void {
  if (newest(join(pkg, 'src')) <= newest(join(pkg, 'dist'))) return;
  try {
    execFileSync(
      process.execPath,
      [join(pkg, '..', '..', 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json'],
      { cwd: pkg, stdio: 'pipe' },
    );
  } catch (err) {
    // a type error elsewhere still emits JavaScript; only a missing entry point is fatal
    if (!existsSync(bin)) throw err;
  }
}

export interface Finished {
  code: number | null;
  signal: string | null;
  out: string;
  err: string;
}

/** The CLI as a child process whose output is collected as it comes (`err` grows while it runs). */
export function start(
  args: string[],
  env: NodeJS.ProcessEnv = process.env,
): { child: ChildProcess; output: { out: string; err: string }; done: Promise<Finished> } {
  const child = spawn(process.execPath, [bin, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env });
  const output = { out: '', err: '' };
  child.stdout!.on('data', (d) => (output.out += d));
  child.stderr!.on('data', (d) => (output.err += d));
  const done = new Promise<Finished>((resolve) =>
    child.on('close', (code, signal) => resolve({ code, signal, ...output })),
  );
  return { child, output, done };
}
