import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serveStatic } from './static-server.js';

const CHROMIUM = '/usr/bin/chromium';
const here = fileURLToPath(new URL('.', import.meta.url));
const SITE = join(here, '..', '.vitepress', 'dist');
const ARTIFACTS = join(here, '..', 'test-results');
/** Training steps the demo must reach before the losses are compared. */
const STEPS = 150;
/** Steps on each other backend before its losses are compared. */
const SWAP_STEPS = 60;

const hasChromium = existsSync(CHROMIUM);
if (!hasChromium) {
  console.log(`skipping the demo's end-to-end test: ${CHROMIUM} is absent (apt-get install -y chromium)`);
}

describe.skipIf(!hasChromium)('the live demo in headless Chromium', () => {
  let server: Awaited<ReturnType<typeof serveStatic>>;
  let context: BrowserContext;
  let page: Page;
  let profile: string;
  const pageErrors: string[] = [];
  /** The reference run's mean loss over its first 10 steps, per cell. */
  const referenceFirst = new Map<string, number>();

  beforeAll(async () => {
    if (!existsSync(join(SITE, 'demo.html'))) {
      throw new Error(
        `the site is not built (${SITE}/demo.html is missing): run 'pnpm --filter @bistable/docs build'`,
      );
    }
    server = await serveStatic(SITE);
    profile = mkdtempSync(join(tmpdir(), 'bistable-chromium-'));
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--disable-quic',
        '--no-first-run',
      ],
      viewport: { width: 1280, height: 1300 },
    });
    page = context.pages()[0] ?? (await context.newPage());
    page.on('pageerror', (err) => pageErrors.push(err.message));
  });

  afterAll(async () => {
    await context?.close();
    await server?.close();
    if (profile) rmSync(profile, { recursive: true, force: true });
  });

  it('trains nBRC and GRU on the reference backend and both losses fall', async () => {
    await page.goto(`${server.origin}/demo`);
    const demo = page.getByTestId('training-demo');
    // every backend has been probed once the picker leaves 'checking'
    await expect.poll(() => demo.getAttribute('data-state'), { timeout: 60_000 }).toBe('idle');

    const choices = await page.locator('[data-backend]').evaluateAll((els) =>
      els.map((e) => ({
        name: e.getAttribute('data-backend'),
        available: e.getAttribute('data-available') === 'true',
        text: e.textContent ?? '',
      })),
    );
    console.log(
      'backends offered:',
      choices.map((c) => `${c.name}: ${c.available ? 'available' : c.text.split('not available here: ')[1]}`),
    );
    expect(choices.find((c) => c.name === 'reference')?.available).toBe(true);
    for (const c of choices.filter((c) => !c.available)) expect(c.text).toMatch(/not available here: \S/);

    await page.locator('input[value="reference"]').check();
    await page.getByTestId('start').click();
    await expect
      .poll(async () => Number(await demo.getAttribute('data-steps')), { timeout: 120_000, interval: 500 })
      .toBeGreaterThanOrEqual(STEPS);
    await page.getByTestId('stop').click();
    await expect.poll(() => demo.getAttribute('data-state')).toBe('paused');
    expect(await page.getByTestId('status').textContent()).toContain('on reference');

    for (const cell of ['nBRC', 'GRU']) {
      const row = page.getByTestId(`loss-${cell}`);
      const first = Number(await row.getAttribute('data-first'));
      const recent = Number(await row.getAttribute('data-recent'));
      console.log(
        `${cell}: loss ${first.toFixed(4)} over the first 10 steps, ${recent.toFixed(4)} over the last 10`,
      );
      expect(Number.isFinite(first) && Number.isFinite(recent)).toBe(true);
      expect(recent).toBeLessThan(0.75 * first);
      referenceFirst.set(cell, first);
    }
    // both curves are drawn
    for (const cell of ['nBRC', 'GRU']) {
      const points = await page.locator(`polyline[data-series="${cell}"]`).getAttribute('points');
      expect(points?.split(' ').length ?? 0).toBeGreaterThan(10);
    }

    mkdirSync(ARTIFACTS, { recursive: true });
    // the top of the page holds the title, the picker, the chart and the numbers; a full-page
    // shot would paint the sticky navigation bar over the middle
    await page.evaluate(() => window.scrollTo(0, 0));
    await page.screenshot({ path: join(ARTIFACTS, 'demo.png') });
    expect(pageErrors).toEqual([]);
  });

  // the same page, the same packages, another backend: core's WebAssembly one and TensorFlow.js's
  for (const name of ['cpu', 'tfjs-cpu']) {
    it(`swaps to ${name} on the same page and trains there too`, async () => {
      const demo = page.getByTestId('training-demo');
      expect(await page.locator(`[data-backend="${name}"]`).getAttribute('data-available')).toBe('true');
      // a new backend means new models: picking it resets the run
      await page.locator(`input[value="${name}"]`).check();
      await expect.poll(() => demo.getAttribute('data-steps')).toBe('0');
      await page.getByTestId('start').click();
      await expect
        .poll(async () => Number(await demo.getAttribute('data-steps')), { timeout: 120_000, interval: 500 })
        .toBeGreaterThanOrEqual(SWAP_STEPS);
      await page.getByTestId('stop').click();
      await expect.poll(() => demo.getAttribute('data-state')).toBe('paused');
      expect(await page.getByTestId('status').textContent()).toContain(`on ${name}`);
      for (const cell of ['nBRC', 'GRU']) {
        const row = page.getByTestId(`loss-${cell}`);
        const first = Number(await row.getAttribute('data-first'));
        const recent = Number(await row.getAttribute('data-recent'));
        console.log(`${name} ${cell}: ${first.toFixed(4)} → ${recent.toFixed(4)}`);
        expect(recent).toBeLessThan(0.9 * first);
        // same seeds, same batches, same math: the backends agree up to float32 rounding
        expect(Math.abs(first - referenceFirst.get(cell)!)).toBeLessThan(1e-3 * referenceFirst.get(cell)!);
      }
      expect(pageErrors).toEqual([]);
    });
  }

  it('serves the API reference for every package', async () => {
    await page.goto(`${server.origin}/api/`);
    for (const pkg of [
      '@bistable/core',
      '@bistable/tasks',
      '@bistable/backend-tfjs',
      '@bistable/backend-gpujs',
      '@bistable/cli',
    ]) {
      await expect.poll(() => page.locator(`a:has-text("${pkg}")`).count()).toBeGreaterThan(0);
    }
  });
});
