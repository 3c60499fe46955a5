#!/usr/bin/env node
/**
 * Times every backend the live demo offers, in headless Chromium, on the built site: each one
 * trains the demo's two models (nBRC and GRU, batch 32, 32 units, T = 10) with steps back to back
 * through the page's test hook, in rounds that alternate the backends, so that a change in the
 * machine's load weighs on all alike. Writes the result as JSON with the date, the machine and the
 * command, for the "Choosing a backend" guide (apps/docs/data/bench/).
 *
 *   node apps/docs/scripts/bench-browser.mjs [--out FILE] [--rounds N] [--ms MS]
 *
 * Needs the site built (pnpm run docs) and Chromium at /usr/bin/chromium (or CHROMIUM=path).
 */
import { createReadStream, existsSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { cpus, loadavg, release, totalmem, type } from 'node:os';
import { extname, join, normalize, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { chromium } from 'playwright-core';
import { CHROMIUM, CHROMIUM_ARGS } from '../test/chromium.mjs';

const here = fileURLToPath(new URL('.', import.meta.url));
const SITE = join(here, '..', '.vitepress', 'dist');

const { values: opts } = parseArgs({
  options: {
    out: { type: 'string' },
    rounds: { type: 'string', default: '3' },
    ms: { type: 'string', default: '1500' },
  },
});
const rounds = Number(opts.rounds);
const minMs = Number(opts.ms);

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.wasm': 'application/wasm',
  '.woff2': 'font/woff2',
};

function serve(root) {
  const server = createServer((req, res) => {
    const clean = normalize(decodeURIComponent((req.url ?? '/').split('?')[0])).replace(/^([/\\])+/, '');
    const base = join(root, clean);
    const file = [base, `${base}.html`, join(base, 'index.html')].find(
      (c) => c.startsWith(root) && existsSync(c) && statSync(c).isFile(),
    );
    if (!file) {
      res.writeHead(404).end('not found');
      return;
    }
    res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream' });
    createReadStream(file).pipe(res);
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve({ server, origin: `http://127.0.0.1:${server.address().port}` }),
    ),
  );
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

if (!existsSync(join(SITE, 'demo.html'))) {
  console.error(`the site is not built (${SITE}/demo.html is missing): run 'pnpm run docs'`);
  process.exit(1);
}
const date = new Date().toISOString();
const load = loadavg().map((x) => Math.round(x * 100) / 100);
const { server, origin } = await serve(SITE.endsWith(sep) ? SITE : SITE + sep);
const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  await page.goto(`${origin}/demo`);
  const demo = page.getByTestId('training-demo');
  await demo.waitFor();
  await page.waitForFunction(
    () => document.querySelector('[data-testid="training-demo"]')?.getAttribute('data-state') === 'idle',
    null,
    { timeout: 120_000 },
  );
  const choices = await page.locator('[data-backend]').evaluateAll((els) =>
    els.map((e) => ({
      name: e.getAttribute('data-backend'),
      available: e.getAttribute('data-available') === 'true',
      softwareDevice: e.getAttribute('data-software-device') || null,
    })),
  );
  const reasons = await page
    .locator('[data-reason-for]')
    .evaluateAll((els) =>
      Object.fromEntries(
        els.map((e) => [
          e.getAttribute('data-reason-for'),
          (e.querySelector('.reason')?.textContent ?? '').replace(/^not available here: /, ''),
        ]),
      ),
    );
  const defaultBackend = await demo.getAttribute('data-default-backend');
  const renderer = await page.evaluate(() => {
    const gl = document.createElement('canvas').getContext('webgl2');
    const ext = gl?.getExtension('WEBGL_debug_renderer_info');
    return gl ? String(gl.getParameter(ext ? ext.UNMASKED_RENDERER_WEBGL : gl.RENDERER)) : 'no WebGL 2';
  });
  const available = choices.filter((c) => c.available).map((c) => c.name);
  const samples = Object.fromEntries(available.map((n) => [n, []]));
  for (let r = 0; r < rounds; r++) {
    // alternate the order, as `bistable bench --compare` does: a b c, c b a, …
    for (const name of r % 2 === 0 ? available : [...available].reverse()) {
      const got = await page.evaluate(
        ([n, ms]) => globalThis.__bistableDemo.computeOnlyRate(n, { warmup: 3, minSteps: 5, minMs: ms }),
        [name, minMs],
      );
      samples[name].push(got.stepsPerSecond);
      console.error(`round ${r + 1}: ${name} ${got.stepsPerSecond.toFixed(1)} steps/s (${got.steps} steps)`);
    }
  }
  const settings = await page.evaluate(() => globalThis.__bistableDemo.settings);
  const cpu = cpus();
  const report = {
    format: 'bistable-browser-bench',
    version: 1,
    date,
    machine: `${(cpu[0]?.model ?? 'unknown CPU').replace(/\s+/g, ' ').trim()}, ${cpu.length} cores, ${Math.round(totalmem() / 2 ** 30)} GiB, ${type()} ${release()}; ${browser.version()} headless (${CHROMIUM_ARGS.join(' ')}), WebGL: ${renderer}`,
    command: `node ${relative(process.cwd(), fileURLToPath(import.meta.url))} --rounds ${rounds} --ms ${minMs}`,
    loadAverage: load,
    what: 'one demo step: a training step (forward, backward, Adam) of each of two models, nBRC and GRU, on the same batch; steps back to back, no painting',
    settings,
    defaultBackend,
    results: choices.map((c) =>
      c.available
        ? {
            backend: c.name,
            available: true,
            ...(c.softwareDevice ? { softwareDevice: c.softwareDevice } : {}),
            stepsPerSecond: median(samples[c.name]),
            msPerStep: 1000 / median(samples[c.name]),
            rounds: samples[c.name],
          }
        : { backend: c.name, available: false, reason: reasons[c.name] ?? '' },
    ),
  };
  const text = `${JSON.stringify(report, null, 2)}\n`;
  if (opts.out) writeFileSync(opts.out, text);
  else process.stdout.write(text);
} finally {
  await browser.close();
  server.close();
}
