import { existsSync, readFileSync } from 'node:fs';
import { builtinModules, createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import * as layers from '../src/layers/index.js';
import * as node from '../src/layers/node.js';

const here = dirname(fileURLToPath(import.meta.url));
const pkg = JSON.parse(readFileSync(join(here, '..', 'package.json'), 'utf8'));
const builtins = new Set(builtinModules.flatMap((m) => [m, `node:${m}`]));

/** Specifiers of a module's static imports and re-exports (what a bundler must resolve eagerly). */
function staticImports(source: string): string[] {
  const code = source.replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
  const found: string[] = [];
  for (const m of code.matchAll(
    /^\s*(?:import|export)\s+(?:type\s+)?(?:[^'";]*?\sfrom\s*)?['"]([^'"]+)['"]/gm,
  )) {
    // `import type` / `export type` vanish from the emitted JavaScript
    if (/^\s*(?:import|export)\s+type\s/.test(m[0])) continue;
    found.push(m[1]);
  }
  return found;
}

/**
 * Walks the static import graph from a file: our sources (.ts for .js), then @bistable/core's
 * built files. Returns every module reached and the outside packages it stops at.
 */
function walk(entry: string) {
  const seen = new Set<string>();
  const external = new Set<string>();
  const edges: string[] = [];
  const coreDir = dirname(
    createRequire(join(here, '..', 'package.json')).resolve('@bistable/core/package.json'),
  );
  const coreExports = JSON.parse(readFileSync(join(coreDir, 'package.json'), 'utf8')).exports;
  const queue = [entry];
  while (queue.length > 0) {
    const file = queue.pop()!;
    if (seen.has(file)) continue;
    seen.add(file);
    for (const spec of staticImports(readFileSync(file, 'utf8'))) {
      edges.push(`${file} → ${spec}`);
      if (spec.startsWith('.')) {
        let target = resolve(dirname(file), spec);
        if (!existsSync(target) && target.endsWith('.js')) target = target.replace(/\.js$/, '.ts');
        queue.push(target);
      } else if (spec === '@bistable/core' || spec.startsWith('@bistable/core/')) {
        queue.push(join(coreDir, coreExports[spec.replace('@bistable/core', '.')].import));
      } else {
        external.add(spec);
      }
    }
  }
  return { seen, external, edges };
}

describe('@bistable/backend-tfjs/layers is browser-safe', () => {
  it("imports none of Node's modules, statically, anywhere in its graph (core included)", () => {
    const { seen, external, edges } = walk(join(here, '..', 'src', 'layers', 'index.ts'));
    const nodeEdges = edges.filter((e) => builtins.has(e.split(' → ')[1]));
    expect(nodeEdges).toEqual([]);
    expect([...external].sort()).toEqual(['@tensorflow/tfjs-core', '@tensorflow/tfjs-layers', 'zod']);
    expect([...seen].some((f) => f.endsWith('file-io.ts'))).toBe(false);
    // the walk did reach into core (so the check covers it)
    expect([...seen].some((f) => f.includes(join('core', 'dist')))).toBe(true);
  });

  it('the Node file handler is in @bistable/backend-tfjs/node', () => {
    expect('fileIO' in layers).toBe(false);
    expect(typeof node.fileIO).toBe('function');
    expect(pkg.exports['./node']).toEqual({
      types: './dist/layers/node.d.ts',
      import: './dist/layers/node.js',
    });
    expect(pkg.exports['./layers']).toEqual({
      types: './dist/layers/index.d.ts',
      import: './dist/layers/index.js',
    });
    // registering the layer classes is a side effect bundlers must keep
    expect(pkg.sideEffects).toEqual(
      expect.arrayContaining(['./dist/layers/index.js', './dist/layers/rnn-layers.js']),
    );
    const { edges } = walk(join(here, '..', 'src', 'layers', 'node.ts'));
    expect(edges.some((e) => e.endsWith('→ node:fs/promises'))).toBe(true);
  });

  it('exports the names the tfjs user relies on', () => {
    expect(Object.keys(layers.bistableLayers).sort()).toEqual(['brc', 'brcCell', 'nbrc', 'nbrcCell']);
    expect(layers.BRC.className).toBe('BRC');
    expect(layers.NBRC.className).toBe('NBRC');
  });
});
