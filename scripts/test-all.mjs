#!/usr/bin/env node
// Runs every workspace package's vitest suite one after the other (the machine has two cores),
// then prints one line summed over all packages: "N passed, N failed".
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const dirs = ['packages', 'apps']
  .filter((d) => existsSync(join(root, d)))
  .flatMap((d) => readdirSync(join(root, d)).map((p) => join(root, d, p)))
  .filter((p) => existsSync(join(p, 'package.json')))
  .filter((p) => JSON.parse(readFileSync(join(p, 'package.json'), 'utf8')).scripts?.test);

const out = mkdtempSync(join(tmpdir(), 'bistable-tests-'));
let passed = 0;
let failed = 0;
let skipped = 0;
const broken = [];
for (const dir of dirs) {
  const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
  const report = join(out, `${pkg.name.replace(/[@/]/g, '_')}.json`);
  console.log(`\n=== ${pkg.name} ===`);
  const r = spawnSync(
    'npx',
    ['vitest', 'run', '--reporter=default', '--reporter=json', `--outputFile.json=${report}`],
    {
      cwd: dir,
      stdio: 'inherit',
    },
  );
  if (!existsSync(report)) {
    broken.push(`${pkg.name} (vitest exited ${r.status} without a report)`);
    failed++;
    continue;
  }
  const j = JSON.parse(readFileSync(report, 'utf8'));
  passed += j.numPassedTests;
  failed += j.numFailedTests;
  skipped += j.numPendingTests + (j.numTodoTests ?? 0);
  // a suite that fails to load counts as a failure even when no test inside it ran
  const loadFailures = (j.testResults ?? []).filter(
    (t) => t.status === 'failed' && t.assertionResults.length === 0,
  );
  if (loadFailures.length > 0) {
    failed += loadFailures.length;
    broken.push(`${pkg.name} (${loadFailures.length} test file(s) failed to load)`);
  }
  if (r.status !== 0 && j.numFailedTests === 0 && loadFailures.length === 0) {
    broken.push(`${pkg.name} (vitest exited ${r.status})`);
    failed++;
  }
}
console.log('');
if (broken.length) console.log(`problems: ${broken.join('; ')}`);
console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
process.exit(failed > 0 || passed === 0 ? 1 : 0);
