import { BackendUnavailableError } from '@bistable/core';

/** Imports a module by name; tests pass their own to simulate a broken install. */
export type Importer = (specifier: string) => Promise<unknown>;

export const nativeImport: Importer = (specifier) => import(specifier);

/** Whether an import failed because `pkg` itself is not installed (not one of its dependencies). */
export function isMissingPackage(err: unknown, pkg: string): boolean {
  const e = err as { code?: string; message?: string } | null;
  const msg = e?.message ?? '';
  const notFound =
    e?.code === 'ERR_MODULE_NOT_FOUND' ||
    e?.code === 'MODULE_NOT_FOUND' ||
    // Node's resolver, or a bundler's stub for an absent optional peer (Vite: 'Could not resolve')
    /Cannot find (package|module)|Could not resolve|Failed to (load|resolve)/.test(msg);
  return notFound && (msg.includes(`'${pkg}'`) || msg.includes(`"${pkg}"`));
}

export function firstLine(err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err);
  return msg.split('\n')[0].trim();
}

/**
 * Imports an optional package for a backend. A missing package or one whose code (a native
 * addon, a dependency) fails to load becomes a BackendUnavailableError that says which, and how
 * to install it.
 */
export async function importFor<T>(
  backendName: string,
  pkg: string,
  installHint: string,
  importer: Importer = nativeImport,
): Promise<T> {
  try {
    return (await importer(pkg)) as T;
  } catch (err) {
    if (isMissingPackage(err, pkg))
      throw new BackendUnavailableError(backendName, `${pkg} is not installed`, installHint);
    throw new BackendUnavailableError(
      backendName,
      `${pkg} is installed but failed to load: ${firstLine(err)}`,
      `reinstall it (${installHint.replace(/^install it with /, '')}) and check that its install step completed`,
    );
  }
}
