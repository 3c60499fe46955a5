import { rename, writeFile } from 'node:fs/promises';
import { benchTraining, CELL_NAMES, getBackend } from '@bistable/core';
import { loadGolden, runConformance } from '@bistable/core/testing';
import '../index.js';
import { WebgpuTfjsBackend } from './backend.js';
import { profileWebgpu } from './profile.js';

/**
 * A self-contained check of the WGSL backend (scripts/device-bench.sh runs it on the GPU
 * machine, bundled into one file, so that it depends on no other entry point):
 *   node check-main.js verify --golden FILE              oracle cases at levels 1-3, float32
 *   node check-main.js profile [--quick] [--out FILE]    where a training step spends its time
 *   node check-main.js bench --cell L --seq-len L --batch N --hidden N --layers N [--steps N]
 *                            [--warmup N]                training steps, JSON like `bistable bench --json`
 */
const [mode, ...rest] = process.argv.slice(2);
const opt = (name: string, dflt: string) => {
  const i = rest.indexOf(`--${name}`);
  return i >= 0 && i + 1 < rest.length ? rest[i + 1] : dflt;
};

async function writeJson(path: string, value: unknown): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}`;
  await writeFile(tmp, `${JSON.stringify(value, null, 2)}\n`);
  await rename(tmp, path);
}

/** The registered tfjs-webgpu backend when it is the WGSL one, else a WGSL one of that name. */
async function wgslBackend(): Promise<WebgpuTfjsBackend> {
  const reg = await getBackend('tfjs-webgpu');
  return reg instanceof WebgpuTfjsBackend ? reg : new WebgpuTfjsBackend();
}

async function verify(): Promise<number> {
  const golden = await loadGolden(opt('golden', 'packages/core/fixtures/golden.json'));
  const results = await runConformance(golden, await wgslBackend(), 'float32');
  for (const r of results) {
    const verdict = r.passed ? 'pass' : `FAIL (worst: ${r.worst})`;
    console.log(
      `${r.id.padEnd(24)} level ${r.level}  forward ${r.forwardError.toExponential(2)}  gradient ${r.gradientError.toExponential(2)}  ${verdict}`,
    );
  }
  const failed = results.filter((r) => !r.passed).length;
  console.log(`${results.length - failed} of ${results.length} cases within tolerance`);
  return failed === 0 ? 0 : 1;
}

async function bench(): Promise<number> {
  const be = await wgslBackend();
  const cells = opt('cell', CELL_NAMES.join(',')).split(',');
  const lengths = opt('seq-len', '100').split(',').map(Number);
  const [batch, hidden, layers, steps, warmup] = ['batch', 'hidden', 'layers', 'steps', 'warmup'].map((k) =>
    Number(opt(k, { batch: '100', hidden: '100', layers: '2', steps: '10', warmup: '3' }[k]!)),
  );
  const rows = [];
  for (const cell of cells) {
    for (const seqLen of lengths) {
      const result = await benchTraining(be, {
        cell,
        seqLen,
        batch,
        hidden,
        layers,
        steps,
        warmup,
        inferenceSteps: steps,
      });
      const split =
        result.microBatches > 1 ? ` (${result.microBatches} micro-batches of ${result.microBatch})` : '';
      console.error(`bench: ${cell} T=${seqLen}: median ${result.train.median.toFixed(2)} ms${split}`);
      rows.push({ cell, seqLen, result });
    }
  }
  console.log(
    JSON.stringify(
      { backend: `${be.name} (WebgpuTfjsBackend)`, batch, hidden, layers, steps, warmup, rows },
      null,
      2,
    ),
  );
  return 0;
}

async function main(): Promise<number> {
  if (mode === 'verify') return verify();
  if (mode === 'bench') return bench();
  if (mode === 'profile') {
    const report = await profileWebgpu({ quick: rest.includes('--quick') });
    const out = opt('out', '');
    if (out) await writeJson(out, report);
    return 0;
  }
  console.error('usage: check-main.js verify|profile|bench [options]');
  return 2;
}

let code = 1;
try {
  code = await main();
} catch (err) {
  console.error(`${mode} failed: ${err instanceof Error ? err.message : String(err)}`);
}
// Dawn's instance keeps the event loop alive
process.exit(code);
