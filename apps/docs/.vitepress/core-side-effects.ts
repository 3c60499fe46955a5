import type { Plugin } from 'vite';

/**
 * TEMPORARY, until @bistable/core's package.json declares its entry's side effect.
 *
 * Core's index registers the reference backend when it is imported, but its package.json says
 * `"sideEffects": false`, so a bundler drops that call and `getBackend('reference')` then fails
 * in the browser with "its package @bistable/core is not loaded". Marking the resolved entry as
 * having side effects keeps the call. Remove this once core ships
 * `"sideEffects": ["./dist/index.js"]`.
 */
export function keepCoreRegistration(): Plugin {
  return {
    name: 'bistable:keep-core-registration',
    enforce: 'pre',
    async resolveId(source, importer, options) {
      if (source !== '@bistable/core') return null;
      const resolved = await this.resolve(source, importer, { ...options, skipSelf: true });
      return resolved ? { ...resolved, moduleSideEffects: true } : null;
    },
  };
}
