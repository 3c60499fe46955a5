import { InputError } from '../backend/errors.js';
import { nodeModule } from '../node-module.js';

/** Node's file system, loaded on first use so that importing core never needs it (browsers). */
const nodeFs = () => nodeModule<typeof import('node:fs/promises')>('node:fs/promises');

function reason(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  return e?.code ?? (e instanceof Error ? e.message.split('\n')[0] : String(err));
}

/**
 * Writes `data` to `path` so that `path` is either its old content or the complete new one, never
 * a mix: the bytes go to `path.tmp-<pid>-<random>` in the same directory, are flushed to disk,
 * and the temporary file is then renamed over `path`. On any failure the temporary file is removed.
 */
export async function writeFileAtomic(path: string, data: Uint8Array | string): Promise<void> {
  const fs = await nodeFs();
  const tmp = `${path}.tmp-${process.pid}-${Math.random().toString(36).slice(2, 10)}`;
  let handle: Awaited<ReturnType<typeof fs.open>> | undefined;
  try {
    handle = await fs.open(tmp, 'wx');
    await handle.writeFile(data);
    await handle.sync();
    await handle.close();
    handle = undefined;
    await fs.rename(tmp, path);
  } catch (err) {
    await handle?.close().catch(() => {});
    await fs.rm(tmp, { force: true }).catch(() => {});
    const code = (err as NodeJS.ErrnoException)?.code;
    if (code === 'ENOENT') throw new InputError(`cannot write '${path}': its directory does not exist`);
    throw new InputError(`cannot write '${path}': ${reason(err)}`);
  }
  // make the rename itself durable; not every platform can open a directory, which is fine
  const dir = path.includes('/') ? path.slice(0, path.lastIndexOf('/')) || '/' : '.';
  try {
    const d = await fs.open(dir, 'r');
    try {
      await d.sync();
    } finally {
      await d.close();
    }
  } catch {
    // best effort
  }
}

/** Reads a whole file; a missing or unreadable file is a one-line InputError naming `what`. */
export async function readFileBytes(path: string, what: string): Promise<Uint8Array> {
  const fs = await nodeFs();
  try {
    return await fs.readFile(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException)?.code;
    if (code === 'ENOENT') throw new InputError(`${what} '${path}' does not exist`);
    if (code === 'EISDIR') throw new InputError(`${what} '${path}' is a directory, not a file`);
    throw new InputError(`cannot read ${what} '${path}': ${reason(err)}`);
  }
}
