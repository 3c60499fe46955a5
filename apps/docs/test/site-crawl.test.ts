import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHROMIUM, CHROMIUM_ARGS } from './chromium.mjs';
import { serveStatic } from './static-server.js';

/**
 * Crawls the built site (`.vitepress/dist`) over HTTP: every page, every internal link and every
 * `#anchor` must resolve — to a page, and to an element id on it. External links are listed,
 * never fetched. Then full-page screenshots of a few pages land in `test-results/` (the demo's
 * own test leaves `demo.png` there).
 */

const here = fileURLToPath(new URL('.', import.meta.url));
const SITE = join(here, '..', '.vitepress', 'dist');
const ARTIFACTS = join(here, '..', 'test-results');
const hasChromium = existsSync(CHROMIUM);

/** The pages shot in full: the home page, one guide page, the results and one API page. */
const SCREENSHOTS: Array<[path: string, file: string]> = [
  ['/', 'home.png'],
  ['/guide/training-loop', 'guide-training-loop.png'],
  ['/results', 'results.png'],
  ['/api/@bistable/core/models', 'api-core-models.png'],
];

interface Page {
  status: number;
  ids: Set<string>;
  /** each heading's text by its id */
  headings: Map<string, string>;
  html: string;
}

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: ' ' };
function decodeEntities(s: string): string {
  return s.replace(/&(#x[0-9a-f]+|#\d+|[a-z]+);/gi, (m, e: string) => {
    if (e[0] === '#') {
      const code = e[1] === 'x' || e[1] === 'X' ? Number.parseInt(e.slice(2), 16) : Number(e.slice(1));
      return String.fromCodePoint(code);
    }
    return ENTITIES[e.toLowerCase()] ?? m;
  });
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/** Every link a page makes (anchors' hrefs with their text, the src/href of images, scripts, styles). */
function linksOf(html: string): Array<{ href: string; text?: string }> {
  const out: Array<{ href: string; text?: string }> = [];
  for (const m of html.matchAll(/<(a|link|img|script|source|iframe)\b([^>]*)>/gi)) {
    const tag = m[1].toLowerCase();
    const attr = tag === 'a' || tag === 'link' ? 'href' : 'src';
    const v = m[2].match(new RegExp(`\\s${attr}\\s*=\\s*("([^"]*)"|'([^']*)')`, 'i'));
    if (!v) continue;
    const start = (m.index ?? 0) + m[0].length;
    const text = tag === 'a' ? textOf(html.slice(start, html.indexOf('</a>', start))) : undefined;
    out.push({ href: decodeEntities(v[2] ?? v[3]), text });
  }
  return out;
}

/** The text of a piece of markup. */
function textOf(markup: string): string {
  return decodeEntities(markup.replace(/<[^>]*>/g, ''))
    .replace(/\u200b/g, '')
    .trim();
}

function headingsOf(html: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const m of html.matchAll(/<h([1-6])\b[^>]*\sid="([^"]*)"[^>]*>([\s\S]*?)<\/h\1>/gi)) {
    out.set(decodeEntities(m[2]), textOf(m[3]));
  }
  return out;
}

function idsOf(html: string): Set<string> {
  const ids = new Set<string>();
  for (const m of html.matchAll(/\s(?:id|name)\s*=\s*("([^"]*)"|'([^']*)')/gi)) {
    ids.add(decodeEntities(m[2] ?? m[3]));
  }
  return ids;
}

/** The URL VitePress serves each built page at (clean URLs: guide/cell.html → /guide/cell). */
function pageUrls(root: string): string[] {
  const urls: string[] = [];
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.html') && e.name !== '404.html') {
        const rel = relative(root, p).split(sep).join('/');
        urls.push(
          `/${/(^|\/)index\.html$/.test(rel) ? rel.slice(0, -'index.html'.length) : rel.slice(0, -'.html'.length)}`,
        );
      }
    }
  };
  walk(root);
  return urls.sort();
}

describe('the built site', () => {
  let server: Awaited<ReturnType<typeof serveStatic>>;

  beforeAll(async () => {
    if (!existsSync(join(SITE, 'index.html'))) {
      throw new Error(
        `the site is not built (${SITE}/index.html is missing): run 'pnpm --filter @bistable/docs build'`,
      );
    }
    server = await serveStatic(SITE);
  });

  afterAll(async () => {
    await server?.close();
  });

  it('has no dead internal link or anchor on any page', async () => {
    const origin = server.origin;
    const pages = new Map<string, Promise<Page>>();
    const fetchPage = (path: string): Promise<Page> => {
      let p = pages.get(path);
      if (!p) {
        p = (async () => {
          const res = await fetch(origin + path);
          const type = res.headers.get('content-type') ?? '';
          const html = type.startsWith('text/html') ? await res.text() : '';
          if (!html) await res.arrayBuffer();
          return { status: res.status, ids: idsOf(html), headings: headingsOf(html), html };
        })();
        pages.set(path, p);
      }
      return p;
    };

    const dead: string[] = [];
    const external = new Map<string, Set<string>>();
    const built = pageUrls(SITE);
    const queue = ['/', ...built];
    const seen = new Set<string>();
    /** pages some other page links to */
    const linked = new Set<string>(['/']);
    let links = 0;
    let anchors = 0;
    let named = 0;
    while (queue.length > 0) {
      const batch = queue.splice(0).filter((u) => !seen.has(u));
      for (const u of batch) seen.add(u);
      await Promise.all(
        batch.map(async (from) => {
          const page = await fetchPage(from);
          if (page.status !== 200) return; // reported where it is linked from
          const base = new URL(from, origin);
          for (const { href, text } of linksOf(page.html)) {
            if (/^(javascript|data|blob):/i.test(href)) continue;
            let url: URL;
            try {
              url = new URL(href, base);
            } catch {
              dead.push(`${from}: unparseable link ${JSON.stringify(href)}`);
              continue;
            }
            if (url.origin !== origin) {
              if (!external.has(url.href)) external.set(url.href, new Set());
              external.get(url.href)?.add(from);
              continue;
            }
            links++;
            const target = await fetchPage(url.pathname);
            if (target.status !== 200) {
              dead.push(`${from}: ${href} → HTTP ${target.status}`);
              continue;
            }
            // typedoc copies a markdown file a README links to into api/_media, a stray page
            // without the site's navigation: the link belongs on the site's own page
            if (target.html && url.pathname.includes('/_media/')) {
              dead.push(`${from}: ${href} → typedoc's copy of a markdown file, not the site's page`);
            }
            if (target.html && url.pathname !== from) linked.add(url.pathname);
            if (target.html && !seen.has(url.pathname)) queue.push(url.pathname);
            const hash = safeDecode(url.hash.slice(1));
            if (hash) {
              anchors++;
              if (!target.ids.has(hash)) dead.push(`${from}: ${href} → no element with id "${hash}"`);
              // a link named by a symbol lands on that symbol's heading, not on a neighbour's
              const heading = target.headings.get(hash);
              const symbol = text?.match(/^([A-Za-z_$][\w$]*)(\(\))?$/)?.[1];
              if (symbol && heading !== undefined) named++;
              if (symbol && heading !== undefined && symbol !== 'constructor' && !heading.includes(symbol)) {
                dead.push(`${from}: ${href} (${text}) → lands on the heading "${heading}"`);
              }
            }
          }
        }),
      );
    }
    // a built page no other page links to is a stray (a markdown file VitePress was not meant to build)
    for (const page of built) if (!linked.has(page)) dead.push(`${page}: no page links to it`);
    const htmlPages = [...seen].length;
    console.log(
      `crawled ${htmlPages} pages: ${links} internal links (${anchors} with an anchor, ${named} of them ` +
        `named by a symbol and landing on its heading), ` +
        `${external.size} external links (listed, not fetched)`,
    );
    for (const [href, from] of [...external].sort(([a], [b]) => a.localeCompare(b))) {
      console.log(`  external: ${href}  (from ${[...from].sort().join(', ')})`);
    }
    expect(htmlPages).toBeGreaterThan(10);
    expect([...new Set(dead)].sort()).toEqual([]);
  });

  describe('screenshots', () => {
    let browser: Browser | undefined;
    let profile: string | undefined;

    afterAll(async () => {
      await browser?.close();
      if (profile) rmSync(profile, { recursive: true, force: true });
    });

    it('saves full-page screenshots of the home, a guide, the results and an API page', async (ctx) => {
      if (!hasChromium) {
        const why = `${CHROMIUM} is absent (apt-get install -y chromium)`;
        if (process.env.CI) throw new Error(`no screenshots: ${why}`);
        console.log(`skipping the site's screenshots: ${why}`);
        ctx.skip();
      }
      profile = mkdtempSync(join(tmpdir(), 'bistable-chromium-'));
      browser = await chromium.launch({
        executablePath: CHROMIUM,
        headless: true,
        args: [...CHROMIUM_ARGS],
      });
      const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
      const errors: string[] = [];
      page.on('pageerror', (err) => errors.push(`${page.url()}: ${err.message}`));
      mkdirSync(ARTIFACTS, { recursive: true });
      for (const [path, file] of SCREENSHOTS) {
        const res = await page.goto(server.origin + path, { waitUntil: 'load' });
        expect(res?.status(), path).toBe(200);
        // the content is there and hydrated (VitePress marks the app once mounted)
        await page.locator('.vp-doc, .VPHome').first().waitFor({ state: 'visible' });
        await page.evaluate(() => document.fonts.ready);
        await page.screenshot({ path: join(ARTIFACTS, file), fullPage: true });
        const height = await page.evaluate(() => document.documentElement.scrollHeight);
        console.log(`${path}: ${file} (${height} px tall)`);
      }
      expect(errors).toEqual([]);
    });
  });
});
