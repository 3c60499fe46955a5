import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { backendPriorities, benchFiles } from '../data/bench.data.js';
import {
  type BenchFile,
  ensembleTable,
  isBrowserBench,
  isEnsembleBench,
  measured,
  type NodeBenchFile,
  rankingConflicts,
} from '../data/bench-tables.js';

/**
 * One source of truth for timings: every timing table of the built site is drawn from a committed
 * JSON file that states the date, the machine and the command of its run (the table names the
 * file in `data-timing-source`), the package READMEs copy no timing table, and `auto`'s order
 * agrees with every committed bench run.
 */
const docs = fileURLToPath(new URL('..', import.meta.url));
const repo = join(docs, '..', '..');
const SITE = join(docs, '.vitepress', 'dist');

/** A header that names a time: "(ms)", "steps/s", "wall time", "ms per step", … */
const TIMING_HEADER = /\((ms|s)\)|\b(ms|steps\/s|seconds|wall time|time per step|ms per step)\b/i;
/** A cell that holds a duration: "608 s", "7.52 ms", "1 h 05 min", "4 min 05 s", "12.3 s". */
const DURATION_CELL = /^(\d[\d.,]*\s*(ms|s|min|h)|\d+ h \d+ min|\d+ min \d+ s)$/;

const tracked = (() => {
  if (!existsSync(join(repo, '.git'))) return null;
  const out = execFileSync('git', ['ls-files', '--', 'apps/docs/data'], { cwd: repo, encoding: 'utf8' });
  return new Set(out.split('\n').filter(Boolean));
})();

function htmlFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? htmlFiles(join(dir, e.name)) : e.name.endsWith('.html') ? [join(dir, e.name)] : [],
  );
}

const text = (html: string) =>
  html
    .replace(/<[^>]+>/g, ' ')
    .replace(/&nbsp;|&#160;/g, ' ')
    .replace(/&amp;/g, '&')
    .replace(/\s+/g, ' ')
    .trim();

interface FoundTable {
  page: string;
  open: string;
  headers: string[];
  cells: string[];
}

/** Every <table> of a page, with its opening tag, header texts and cell texts. */
function tablesOf(page: string, html: string): FoundTable[] {
  const out: FoundTable[] = [];
  for (const m of html.matchAll(/(<table\b[^>]*>)([\s\S]*?)<\/table>/g)) {
    const body = m[2];
    out.push({
      page,
      open: m[1],
      headers: [...body.matchAll(/<th\b[^>]*>([\s\S]*?)<\/th>/g)].map((h) => text(h[1])),
      cells: [...body.matchAll(/<td\b[^>]*>([\s\S]*?)<\/td>/g)].map((c) => text(c[1])),
    });
  }
  return out;
}

const isTimingTable = (t: FoundTable) =>
  t.headers.some((h) => TIMING_HEADER.test(h)) || t.cells.some((c) => DURATION_CELL.test(c));

/** The value a JSON pointer ("/benchmarks/2") names, or undefined. */
function atPointer(doc: unknown, pointer: string): unknown {
  let cur = doc;
  for (const key of pointer.split('/').slice(1)) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[decodeURIComponent(key)];
  }
  return cur;
}

/** Why a source does not state the date, machine and command of its run; null when it does. */
function provenanceProblem(source: string): string | null {
  const [file, pointer = ''] = source.split('#');
  const path = join(docs, file);
  if (!existsSync(path)) return `${file} does not exist`;
  if (tracked && !tracked.has(`apps/docs/${file}`)) return `${file} is not committed`;
  const doc = JSON.parse(readFileSync(path, 'utf8')) as unknown;
  const v = atPointer(doc, pointer) as Record<string, unknown> | undefined;
  if (!v || typeof v !== 'object') return `${source} names nothing`;
  // a study's provenance: every invocation that worked on it, each with its own
  if (v.format === 'bistable-provenance') {
    const inv = v.invocations as Record<string, unknown>[];
    if (!Array.isArray(inv) || inv.length === 0) return `${source} lists no invocation`;
    for (const i of inv) {
      for (const k of ['started', 'machine', 'command'])
        if (typeof i[k] !== 'string' || !(i[k] as string).trim())
          return `${source}: an invocation without ${k}`;
    }
    return null;
  }
  for (const k of ['date', 'machine', 'command']) {
    if (typeof v[k] !== 'string' || !(v[k] as string).trim()) return `${source} has no ${k}`;
  }
  if (Number.isNaN(Date.parse(v.date as string))) return `${source}: date '${v.date}' is not a date`;
  return null;
}

describe('the committed bench runs (data/bench)', () => {
  const all = benchFiles(docs);
  // an ensemble run times one backend against itself: it ranks no backends
  const files = all.filter((f) => !isEnsembleBench(f.file));

  it('exist for Node and for a browser, each with its date, machine and command', () => {
    expect(files.some((f) => !isBrowserBench(f.file))).toBe(true);
    expect(files.some((f) => isBrowserBench(f.file))).toBe(true);
    for (const f of all) expect(provenanceProblem(f.source), f.source).toBeNull();
  });

  it('include ensemble runs whose tables give each size both arms and the ratio of their medians', () => {
    const runs = all.filter((f) => isEnsembleBench(f.file));
    expect(runs.length).toBeGreaterThan(0);
    for (const f of runs) {
      const file = f.file as NodeBenchFile;
      const t = ensembleTable(f.source, file);
      expect(t.rows).toHaveLength(file.rows.length);
      for (const [i, row] of file.rows.entries()) {
        const [together, apart] = row.results;
        expect([together.together, apart.together], f.source).toEqual([true, false]);
        expect(t.rows[i][3]).toBe(`${(apart.train.median / together.train.median).toFixed(2)}×`);
      }
      // a run whose ensemble ran its members' passes as one dispatch says so, and only such a run
      const batched = file.rows.some((r) => r.results[0].passesBatched === true);
      expect(t.note.includes('as one dispatch'), f.source).toBe(batched);
      expect(t.note.includes('on their own'), f.source).toBe(!batched);
      // the dispatch columns are each arm's own count, where the backend counts them
      for (const [i, row] of file.rows.entries()) {
        const [together, apart] = row.results;
        if (together.device)
          expect(t.rows[i].slice(4), f.source).toEqual([
            together.device.dispatches,
            apart.device!.dispatches,
          ]);
        else expect(t.rows[i], f.source).toHaveLength(4);
      }
    }
    expect(runs.some((f) => (f.file as NodeBenchFile).rows.some((r) => r.results[0].passesBatched))).toBe(
      true,
    );
  });

  it('agree with auto’s order: no native backend outranks one that ran 1.3× faster', async () => {
    const priorities = await backendPriorities();
    for (const f of files) {
      console.log(
        `${f.source}: ${measured(f.file)
          .map((m) => `${m.backend}${m.softwareDevice ? ' (emulated GPU)' : ''} ${m.ms.toPrecision(3)} ms`)
          .join(', ')}`,
      );
      expect(rankingConflicts(f.file as BenchFile, priorities), f.source).toEqual([]);
    }
  });

  it('put core’s cpu first wherever no hardware GPU ran, in Node and in a browser', () => {
    for (const f of files) {
      const native = measured(f.file).filter((m) => !m.softwareDevice);
      expect(native[0]?.backend, f.source).toBe('cpu');
    }
  });
});

const built = existsSync(join(SITE, 'guide', 'choosing-backend.html'));

describe.skipIf(!built)('every timing table of the built site', () => {
  const pages = built ? htmlFiles(SITE) : [];
  const tables = pages.flatMap((p) => tablesOf(relative(SITE, p), readFileSync(p, 'utf8')));
  const timing = tables.filter(isTimingTable);

  it('is found where it should be (results, choosing a backend)', () => {
    const where = new Set(timing.map((t) => t.page));
    expect(where).toContain('results.html');
    expect(where).toContain(join('guide', 'choosing-backend.html'));
    console.log(`${timing.length} timing tables on ${where.size} pages: ${[...where].join(', ')}`);
  });

  it('names the committed JSON it comes from, which states date, machine and command', () => {
    for (const t of timing) {
      const attr = /data-timing-source="([^"]*)"/.exec(t.open)?.[1];
      expect(
        attr,
        `${t.page}: a timing table (${t.headers.join(' | ')}) without data-timing-source`,
      ).toBeTruthy();
      for (const source of attr!.split(/\s+/).filter(Boolean)) {
        expect(provenanceProblem(source), `${t.page}: ${source}`).toBeNull();
      }
    }
  });

  it('the guide is in the sidebar', () => {
    const config = readFileSync(join(docs, '.vitepress', 'config.ts'), 'utf8');
    expect(config).toContain("link: '/guide/choosing-backend'");
  });
});

describe('the READMEs', () => {
  const readmes = [
    join(repo, 'README.md'),
    ...readdirSync(join(repo, 'packages')).map((p) => join(repo, 'packages', p, 'README.md')),
  ].filter(existsSync);

  it('copy no timing table: they link to the measurements instead', () => {
    for (const file of readmes) {
      const lines = readFileSync(file, 'utf8').split('\n');
      lines.forEach((line, i) => {
        const isHeader = /^\s*\|/.test(line) && /^\s*\|[\s:|-]+\|\s*$/.test(lines[i + 1] ?? '');
        if (isHeader) {
          expect(TIMING_HEADER.test(line), `${relative(repo, file)}:${i + 1}: ${line}`).toBe(false);
        }
        if (/^\s*\|/.test(line)) {
          const cells = line.split('|').map((c) => c.trim());
          expect(
            cells.some((c) => DURATION_CELL.test(c)),
            `${relative(repo, file)}:${i + 1}: a duration in a table: ${line}`,
          ).toBe(false);
        }
      });
    }
  });
});
