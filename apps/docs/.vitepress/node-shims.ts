import type { Plugin } from 'vite';

/**
 * TEMPORARY, until @bistable/backend-gpujs has a browser path.
 *
 * backend-gpujs imports `createRequire` (node:module), `dirname` (node:path) and `pathToFileURL`
 * (node:url) by name at the top of its modules, to load gpu.js through Node. Vite replaces Node
 * builtins with an empty module in a browser build, so those named imports fail the whole build.
 * This gives the package stand-ins that throw when called: the package then loads in the page, and
 * its backends report themselves unavailable with the reason, as the demo shows.
 */
const SHIMS: Record<string, string[]> = {
  'node:module': ['createRequire'],
  'node:path': ['dirname', 'join', 'resolve'],
  'node:url': ['pathToFileURL', 'fileURLToPath'],
};
const PREFIX = '\0bistable-node-shim:';

function shimSource(id: string): string {
  const lines = [
    `const unavailable = (name) => { throw new Error(\`\${name} from ${id} is not available in a browser\`); };`,
  ];
  for (const name of SHIMS[id]) {
    if (name === 'createRequire') {
      // a require whose every use throws, so that resolve() and require() fail the same way
      lines.push(
        'export function createRequire() {',
        "  const req = () => unavailable('require');",
        "  req.resolve = () => unavailable('require.resolve');",
        '  return req;',
        '}',
      );
    } else {
      lines.push(`export function ${name}() { return unavailable('${name}'); }`);
    }
  }
  return lines.join('\n');
}

export function nodeShimsForGpujs(): Plugin {
  return {
    name: 'bistable:node-shims-for-gpujs',
    enforce: 'pre',
    resolveId(source, importer) {
      if (!(source in SHIMS) || !importer?.includes('backend-gpujs')) return null;
      return PREFIX + source;
    },
    load(id) {
      return id.startsWith(PREFIX) ? shimSource(id.slice(PREFIX.length)) : null;
    },
  };
}
