/**
 * Imports one of Node's built-in modules by a name bundlers cannot see. Core runs in browsers as
 * well: a literal `import('node:fs')` makes Vite stub the module with a warning, and webpack or
 * esbuild refuse it, even where that code path never runs in a page. Only Node reaches these.
 */
export function nodeModule<T>(name: `node:${string}`): Promise<T> {
  const spec: string = name;
  return import(/* @vite-ignore */ /* webpackIgnore: true */ spec) as Promise<T>;
}
