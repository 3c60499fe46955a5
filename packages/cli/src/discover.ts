import { BACKEND_CATALOG } from '@bistable/core';

/**
 * Backend packages the CLI knows how to load; each registers its backends on import. The
 * specifiers are literal so bundlers include whatever is installed when they run.
 */
const IMPORTERS: Record<string, () => Promise<unknown>> = {
  '@bistable/backend-tfjs': () => import('@bistable/backend-tfjs'),
  '@bistable/backend-gpujs': () => import('@bistable/backend-gpujs'),
};
const BACKEND_PACKAGES = [...new Set(BACKEND_CATALOG.map((e) => e.packageName))].filter(
  (p) => p !== '@bistable/core',
);

export interface PackageLoad {
  packageName: string;
  loaded: boolean;
  /** Why the import failed (absent, or failed to load). */
  reason?: string;
}

let loads: Promise<PackageLoad[]> | null = null;

/**
 * Imports every installed backend package, once. A missing package is normal (users install
 * only what they need); a package that is present but fails to load is reported, not fatal.
 */
export function discoverBackends(): Promise<PackageLoad[]> {
  loads ??= Promise.all(
    BACKEND_PACKAGES.map(async (packageName): Promise<PackageLoad> => {
      try {
        const load = IMPORTERS[packageName];
        if (!load)
          throw Object.assign(new Error(`no importer for ${packageName}`), { code: 'ERR_MODULE_NOT_FOUND' });
        await load();
        return { packageName, loaded: true };
      } catch (err) {
        const e = err as NodeJS.ErrnoException;
        const absent = e.code === 'ERR_MODULE_NOT_FOUND' && String(e.message).includes(packageName);
        return {
          packageName,
          loaded: false,
          reason: absent ? 'not installed' : `failed to load: ${String(e.message).split('\n')[0]}`,
        };
      }
    }),
  );
  return loads;
}
