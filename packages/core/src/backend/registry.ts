import { catalogEntry } from './catalog.js';
import { BackendUnavailableError, InputError } from './errors.js';
import type { Backend, DType } from './types.js';

/**
 * Backends register a lazy factory with a priority (tfjs-core's model); `auto` tries them from
 * the highest priority down and skips any whose init fails (onnxruntime-web's model). Priorities
 * follow measured training speed (apps/docs/guide/choosing-backend.md has the table and the run
 * it came from): a backend ranks above another only where it trained faster.
 */
export interface BackendRegistration {
  name: string;
  priority: number;
  /** Builds the backend; throws BackendUnavailableError (or any error) when it cannot run here. */
  init: () => Backend | Promise<Backend>;
  /** One line for `bistable backends`. */
  description?: string;
}

const registrations = new Map<string, BackendRegistration>();
const instances = new Map<string, Promise<Backend>>();
const failures = new Map<string, BackendUnavailableError>();

/** Adds a backend (or replaces one of the same name); nothing starts until it is asked for. */
export function registerBackend(reg: BackendRegistration): void {
  registrations.set(reg.name, reg);
  instances.delete(reg.name);
  failures.delete(reg.name);
}

/** Every registered backend, highest priority first. */
export function registeredBackends(): BackendRegistration[] {
  return [...registrations.values()].sort((a, b) => b.priority - a.priority);
}

function asUnavailable(name: string, err: unknown): BackendUnavailableError {
  if (err instanceof BackendUnavailableError) return err;
  const msg = err instanceof Error ? err.message : String(err);
  return new BackendUnavailableError(name, `initialisation failed: ${msg.split('\n')[0]}`);
}

/**
 * Initialises (once) and returns the named backend, or for 'auto' the best available one: the
 * highest priority that initialises and, when `want.dtype` is given, computes in that dtype. A
 * backend whose GPU is emulated on the CPU (`softwareDevice`) comes after all the others.
 *
 * @example
 * ```ts
 * import { getBackend } from '@bistable/core';
 *
 * // the best backend that starts here: a GPU one where a backend package is imported and a GPU
 * // answers, else core's `cpu`
 * const backend = await getBackend('auto', { dtype: 'float32' });
 * console.log(backend.name);
 *
 * // or one by name; a backend that cannot start here throws BackendUnavailableError
 * const reference = await getBackend('reference');
 * ```
 */
export async function getBackend(name = 'auto', want: { dtype?: DType } = {}): Promise<Backend> {
  if (name === 'auto') {
    // a negative priority means "only when asked for by name" (a test double, a debugging aid)
    const why: string[] = [];
    const software: Backend[] = [];
    for (const reg of registeredBackends().filter((r) => r.priority >= 0)) {
      let be: Backend;
      try {
        be = await getBackend(reg.name);
      } catch (err) {
        // a failed backend is skipped, not fatal; its reason is kept for the error below
        why.push(`${reg.name}: ${reasonOf(err)}`);
        continue;
      }
      // a float64 run skips GPU backends that only compute in float32
      if (want.dtype && !be.dtypes.includes(want.dtype)) {
        why.push(`${reg.name}: computes only in ${be.dtypes.join(', ')}`);
        continue;
      }
      // a GPU rendered on the CPU trains slower than any backend that runs natively: last resort
      if (be.softwareDevice) software.push(be);
      else return be;
    }
    if (software.length > 0) return software[0];
    const what = want.dtype
      ? `no registered backend that computes in ${want.dtype}`
      : 'no registered backend';
    throw new BackendUnavailableError(
      'auto',
      why.length === 0
        ? `${what} could be initialised (none is registered with a priority of 0 or more)`
        : `${what} could be initialised (${why.join('; ')})`,
    );
  }
  const reg = registrations.get(name);
  if (!reg) {
    const known = catalogEntry(name);
    if (known) {
      throw new BackendUnavailableError(
        name,
        `its package ${known.packageName} is not loaded`,
        `install it with 'pnpm add ${known.packageName}' and import it`,
      );
    }
    throw new InputError(
      `unknown backend '${name}'; registered: ${registeredBackends()
        .map((r) => r.name)
        .join(', ')}`,
    );
  }
  const failed = failures.get(name);
  if (failed) throw failed;
  let inst = instances.get(name);
  if (!inst) {
    inst = Promise.resolve()
      .then(() => reg.init())
      .catch((err: unknown) => {
        const e = asUnavailable(name, err);
        failures.set(name, e);
        instances.delete(name);
        throw e;
      });
    instances.set(name, inst);
  }
  return inst;
}

/** A failed backend's reason without the "backend 'x' is not available:" its error leads with. */
function reasonOf(err: unknown): string {
  if (err instanceof BackendUnavailableError) return err.reason;
  return err instanceof Error ? err.message : String(err);
}

/** Whether a registered backend initialises here, and why not when it does not. */
export async function probeBackend(name: string): Promise<{ ok: true } | { ok: false; reason: string }> {
  try {
    await getBackend(name);
    return { ok: true };
  } catch (err) {
    return { ok: false, reason: err instanceof Error ? err.message : String(err) };
  }
}
