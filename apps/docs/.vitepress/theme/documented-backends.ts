import { BACKEND_CATALOG, type CatalogEntry, registeredBackends } from '@bistable/core';

/**
 * Every backend a user can name: core's catalog, plus any backend core registers on import that
 * the catalog does not list yet (described by its registration).
 */
export function documentedBackends(): CatalogEntry[] {
  const known = new Set(BACKEND_CATALOG.map((e) => e.name));
  const extra = registeredBackends()
    .filter((r) => !known.has(r.name))
    .map((r) => ({ name: r.name, packageName: '@bistable/core', requires: r.description ?? '' }));
  return [...BACKEND_CATALOG, ...extra];
}
