#!/usr/bin/env node
// Type-checks every `@example` of the packages' API: the ```ts blocks inside the `@example` tags
// of the JSDoc comments in packages/*/src are written out as .ts modules in a folder under this
// package's node_modules (where '@bistable/core' and the other workspace packages resolve, to
// their built .d.ts files: build the packages first) and checked as `tsc --noEmit` would, strict.
// An error is reported at the file and line of the example that has it:
//
//   packages/core/src/runner/cell.ts:14:7 (@example of Cell): TS2304 Cannot find name 'x'.
//
// Examples are complete modules: they import what they use and declare (`declare const x: …`)
// what they do not make. `node scripts/check-examples.mjs` exits 1 when any does not compile;
// test/api-examples.test.ts runs the same check in the test suite.
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const ts = require('typescript');

const docs = fileURLToPath(new URL('..', import.meta.url));
const root = join(docs, '..', '..');

/** Every .ts source file of every workspace package (tests left out). */
export function sourceFiles() {
  const out = [];
  const walk = (dir) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) {
        if (e.name !== 'node_modules' && e.name !== '__tests__') walk(p);
      } else if (/\.ts$/.test(e.name) && !/\.(test|spec)\.ts$|\.d\.ts$/.test(e.name)) {
        out.push(p);
      }
    }
  };
  for (const pkg of readdirSync(join(root, 'packages'))) {
    const src = join(root, 'packages', pkg, 'src');
    if (existsSync(src)) walk(src);
  }
  return out.sort();
}

/**
 * The ```ts blocks of the `@example` tags in one file's JSDoc comments, each with the symbol the
 * comment documents and, for every line of code, its line in the file (1-based).
 * @returns {{ file: string, symbol: string, code: string[], lines: number[] }[]}
 */
export function extractExamples(file, text = readFileSync(file, 'utf8')) {
  const lines = text.split('\n');
  const examples = [];
  for (let i = 0; i < lines.length; i++) {
    if (!/^\s*\/\*\*/.test(lines[i]) || /\*\/\s*$/.test(lines[i])) continue;
    let inExample = false;
    let fence = null; // the example being read, inside its ``` fence
    let j = i + 1;
    const found = [];
    for (; j < lines.length && !/^\s*\*\//.test(lines[j]); j++) {
      const body = lines[j].replace(/^\s*\* ?/, '');
      if (fence) {
        if (/^\s*```\s*$/.test(body)) {
          found.push(fence);
          fence = null;
        } else {
          fence.code.push(body);
          fence.lines.push(j + 1);
        }
        continue;
      }
      const tag = body.match(/^\s*(@\w+)/);
      if (tag) inExample = tag[1] === '@example';
      if (inExample && /^\s*```(ts|typescript)\s*$/.test(body)) fence = { code: [], lines: [] };
    }
    if (fence)
      throw new Error(
        `${relative(root, file)}:${fence.lines[0] - 1}: an @example's \`\`\` fence is never closed`,
      );
    if (found.length > 0) {
      const symbol = documented(lines, j + 1);
      for (const f of found) examples.push({ file, symbol, ...f });
    }
    i = j;
  }
  return examples;
}

/** The name declared on the first code line after a comment that ends at line index `from`. */
function documented(lines, from) {
  for (let k = from; k < lines.length; k++) {
    const l = lines[k].trim();
    if (!l || l.startsWith('//') || l.startsWith('@')) continue;
    const m =
      l.match(/\b(?:class|function\*?|const|let|var|interface|type|enum|namespace)\s+([A-Za-z_$][\w$]*)/) ??
      l.match(
        /^(?:(?:public|private|protected|static|readonly|async|override|get|set)\s+)*([A-Za-z_$][\w$]*)\s*[(<:=?]/,
      );
    return m ? m[1] : l.slice(0, 40);
  }
  return '?';
}

/**
 * Writes every example out and type-checks them together.
 * @returns {{ examples: ReturnType<typeof extractExamples>, errors: string[] }}
 */
export function checkExamples({ files = sourceFiles(), keep = false } = {}) {
  const examples = files.flatMap((f) => extractExamples(f));
  const dir = join(docs, 'node_modules', '.cache', `api-examples-${process.pid}`);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const byFile = new Map();
  try {
    examples.forEach((ex, n) => {
      const name = `${String(n).padStart(3, '0')}-${relative(root, ex.file).replace(/[\\/.]+/g, '_')}-${ex.symbol}.ts`;
      const path = join(dir, name);
      // `export {}` makes every example a module of its own, whatever it imports
      writeFileSync(path, `${ex.code.join('\n')}\nexport {};\n`);
      byFile.set(path, ex);
    });
    const options = {
      strict: true,
      noEmit: true,
      target: ts.ScriptTarget.ES2022,
      module: ts.ModuleKind.ESNext,
      moduleResolution: ts.ModuleResolutionKind.Bundler,
      lib: ['lib.es2022.d.ts', 'lib.dom.d.ts', 'lib.dom.iterable.d.ts'],
      types: ['node'],
      skipLibCheck: true,
      resolveJsonModule: true,
      noFallthroughCasesInSwitch: true,
      noImplicitOverride: true,
    };
    const program = ts.createProgram([...byFile.keys()], options);
    const errors = [];
    for (const d of ts.getPreEmitDiagnostics(program)) {
      const message = ts.flattenDiagnosticMessageText(d.messageText, '\n    ');
      const ex = d.file && byFile.get(d.file.fileName.split('/').join(sep));
      if (!d.file || !ex) {
        const where = d.file ? `${relative(root, d.file.fileName)}: ` : '';
        errors.push(`${where}TS${d.code} ${message}`);
        continue;
      }
      const { line, character } = d.file.getLineAndCharacterOfPosition(d.start ?? 0);
      const at = line < ex.lines.length ? ex.lines[line] : ex.lines.at(-1);
      const col = character + 1 + (line < ex.code.length ? indentOf(ex, line) : 0);
      errors.push(
        `${relative(root, ex.file)}:${at}:${col} (@example of ${ex.symbol}): TS${d.code} ${message}`,
      );
    }
    return { examples, errors };
  } finally {
    if (!keep) rmSync(dir, { recursive: true, force: true });
  }
}

/** How many characters of the source line come before the example's code (` * `). */
function indentOf(ex, line) {
  const src = readFileSync(ex.file, 'utf8').split('\n')[ex.lines[line] - 1] ?? '';
  const stripped = src.replace(/^\s*\* ?/, '');
  return src.length - stripped.length;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const started = Date.now();
  const { examples, errors } = checkExamples({ keep: process.argv.includes('--keep') });
  const files = new Set(examples.map((e) => e.file)).size;
  for (const e of errors) console.error(e);
  console.log(
    `${examples.length} @example blocks in ${files} files: ${errors.length ? `${errors.length} errors` : 'all type-check'} (${((Date.now() - started) / 1000).toFixed(1)} s)`,
  );
  process.exit(errors.length ? 1 : 0);
}
