// Issue 20, the browser half: bistableLayers inside tf.layers.bidirectional, trained with
// model.fit, saved with tfjs's own browser handlers (indexeddb://, localstorage://) and loaded back
// with tf.loadLayersModel, in headless Chromium. The page (tfjs-layers-browser/) is bundled here
// with Vite from the packages' built entry points, so it is what a browser app would ship.
import { existsSync, mkdtempSync, readFileSync, realpathSync, rmSync } from 'node:fs';
import { isBuiltin } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Browser, chromium } from 'playwright-core';
import { build, type Plugin } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHROMIUM, CHROMIUM_ARGS } from './chromium.mjs';
import { serveStatic } from './static-server.js';
import type { PageResult } from './tfjs-layers-browser/main.js';

const here = fileURLToPath(new URL('.', import.meta.url));
const PAGE = join(here, 'tfjs-layers-browser');
const REPO = realpathSync(join(here, '..', '..', '..'));
const inCI = !!process.env.CI && process.env.CI !== 'false' && process.env.CI !== '0';

/**
 * Node built-ins that the page's module graph may reach through a dynamic import. None: core and
 * tasks load Node's modules through `nodeModule`, whose specifier bundlers cannot see, so a new
 * literal `import('node:…')` anywhere in the graph fails this test.
 */
const KNOWN_DYNAMIC_BUILTINS: string[] = [];

const hasChromium = existsSync(CHROMIUM);
if (!hasChromium) {
  const message = `${CHROMIUM} is absent (apt-get install -y chromium)`;
  if (inCI) console.log(`the tfjs-layers browser test needs Chromium in CI: ${message}`);
  else console.log(`skipping the tfjs-layers browser test: ${message}`);
}

interface BuiltinImport {
  specifier: string;
  importer: string;
  dynamic: boolean;
  /** The importing package's own `browser` field maps it to false (tfjs-core does so for `crypto`). */
  mappedAway: boolean;
}

/** The `browser` field of the package.json nearest above a file. */
function browserField(file: string): Record<string, unknown> {
  for (let dir = dirname(file); dir !== dirname(dir); dir = dirname(dir)) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg)) {
      const browser = JSON.parse(readFileSync(pkg, 'utf8')).browser;
      return typeof browser === 'object' && browser !== null ? browser : {};
    }
  }
  return {};
}

/** Records every import of a Node built-in anywhere in the bundle's module graph. */
function watchBuiltins(found: BuiltinImport[]): Plugin {
  const dynamic = new Set<string>();
  return {
    name: 'watch-node-builtins',
    enforce: 'pre',
    resolveDynamicImport(specifier, importer) {
      if (typeof specifier === 'string' && isBuiltin(specifier)) dynamic.add(`${importer}\0${specifier}`);
      return null;
    },
    resolveId(specifier, importer) {
      if (importer && isBuiltin(specifier)) {
        found.push({
          specifier,
          importer: relative(REPO, importer),
          dynamic: dynamic.has(`${importer}\0${specifier}`),
          mappedAway: browserField(importer)[specifier] === false,
        });
      }
      return null;
    },
  };
}

describe.skipIf(!hasChromium && !inCI)('tfjs-layers save and load in headless Chromium', () => {
  const builtins: BuiltinImport[] = [];
  const pageErrors: string[] = [];
  let outDir: string;
  let server: Awaited<ReturnType<typeof serveStatic>> | undefined;
  let browser: Browser | undefined;
  let result: PageResult;

  beforeAll(async () => {
    if (!hasChromium) throw new Error(`${CHROMIUM} is absent: CI must install chromium for this test`);
    outDir = mkdtempSync(join(tmpdir(), 'bistable-tfjs-layers-page-'));
    const started = Date.now();
    // a failed resolve or a syntax error rejects here and fails the test
    await build({
      root: PAGE,
      configFile: false,
      logLevel: 'error',
      plugins: [watchBuiltins(builtins)],
      build: {
        outDir,
        emptyOutDir: true,
        minify: false,
        reportCompressedSize: false,
        rollupOptions: {
          // zod (through @bistable/core) has comments Rollup reads as misplaced annotations
          onwarn: (warning, warn) => (warning.code === 'INVALID_ANNOTATION' ? undefined : warn(warning)),
        },
      },
    });
    console.log(`page bundled in ${((Date.now() - started) / 1000).toFixed(1)} s`);

    server = await serveStatic(outDir);
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: [...CHROMIUM_ARGS],
    });
    // a fresh context: empty IndexedDB and localStorage
    const page = await (await browser.newContext()).newPage();
    page.on('pageerror', (err) => pageErrors.push(`pageerror: ${err.message}`));
    page.on('console', (msg) => {
      if (msg.type() === 'error') pageErrors.push(`console.error: ${msg.text()}`);
    });
    page.on('response', (res) => {
      if (res.status() >= 400) pageErrors.push(`HTTP ${res.status()}: ${res.url()}`);
    });
    await page.goto(`${server.origin}/`);
    await page.waitForFunction(() => window.__result !== undefined, undefined, { timeout: 60_000 });
    result = (await page.evaluate(() => window.__result)) as PageResult;
    console.log(`page ran in ${((Date.now() - started) / 1000).toFixed(1)} s since the bundling began`);
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    if (outDir) rmSync(outDir, { recursive: true, force: true });
  });

  it('bundles the entry without Node built-ins', () => {
    const shown = (b: BuiltinImport) => `${b.importer} → ${b.specifier}`;
    // only those a package's own browser field replaces (seedrandom's and tfjs-core's `crypto`)
    expect(builtins.filter((b) => !b.dynamic && !b.mappedAway).map(shown)).toEqual([]);
    expect(
      builtins
        .filter((b) => b.dynamic && !b.mappedAway)
        .map(shown)
        .sort(),
    ).toEqual(KNOWN_DYNAMIC_BUILTINS);
  });

  it('the page ran on the cpu backend without errors', () => {
    expect(result.error).toBeUndefined();
    expect(result.backend).toBe('cpu');
    expect(pageErrors).toEqual([]);
  });

  for (const [url, cell] of [
    ['indexeddb://bistable-nbrc', 'NBRC'],
    ['localstorage://bistable-brc', 'BRC'],
  ] as const) {
    it(`model.fit, model.save('${url}'), tf.loadLayersModel('${url}'): the same predictions bit for bit`, () => {
      const trip = result.roundTrips.find((r) => r.url === url);
      expect(trip).toBeDefined();
      if (!trip) return;
      const { losses } = trip;
      console.log(
        `${url}: loss ${losses[0].toFixed(4)} → ${losses[losses.length - 1].toFixed(4)} over ${losses.length} epochs; ` +
          `stored ${trip.stored?.modelTopologyBytes} B of topology, ${trip.stored?.weightDataBytes} B of weights`,
      );
      expect(losses.every(Number.isFinite)).toBe(true);
      expect(losses[losses.length - 1]).toBeLessThan(0.5 * losses[0]);
      // tfjs's handler wrote it where tfjs's model manager finds it
      expect(trip.stored?.modelTopologyBytes).toBeGreaterThan(0);
      // two directions of 7 weights each (8 units, 1 input) and a dense layer of 17, in float32
      const H = 8;
      const perDirection = cell === 'NBRC' ? 3 * H + 2 * H * H + 2 * H : 3 * H + 2 * H + 2 * H;
      expect(trip.stored?.weightDataBytes).toBe(4 * (2 * perDirection + 2 * H + 1));
      expect(trip.classNames).toEqual(['Bidirectional', cell, 'Dense']);
      expect(trip.directions).toEqual({ forward: cell, backward: cell, packageClass: true });
      expect(trip.weightsIdentical).toBe(true);
      expect(trip.predictions).toBe(64);
      expect(trip.maxAbsDiff).toBe(0);
      expect(trip.identical).toBe(true);
    });
  }
});
