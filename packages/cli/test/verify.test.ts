import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bundledGoldenPath } from '@bistable/core/testing';
import { describe, expect, it } from 'vitest';
import { bistable } from './cli-helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'bistable-verify-'));
const golden = JSON.parse(readFileSync(bundledGoldenPath(), 'utf8'));

describe('bistable verify', () => {
  for (const dtype of ['float64', 'float32']) {
    it(`passes every oracle case on the reference backend in ${dtype}`, () => {
      const r = bistable('verify', '--backend', 'reference', '--dtype', dtype, '--json');
      expect(r.code, r.stderr).toBe(0);
      const out = JSON.parse(r.stdout);
      expect(out.passed).toBe(true);
      // 8 cells + 4 multi-layer + 2 training steps, at levels 1, 2 and 3
      expect(out.results).toHaveLength(14 * 3);
      const tol = dtype === 'float64' ? 1e-12 : 1e-4;
      for (const c of out.results) expect(c.forwardError).toBeLessThanOrEqual(tol);
    });
  }

  it('with --step-kit also checks every kernel the backend offers on its own', () => {
    const r = bistable('verify', '--backend', 'reference', '--dtype', 'float64', '--step-kit', '--json');
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.passed).toBe(true);
    // the four cells and the kit's own, each with step and sequence kernels
    expect(new Set(out.stepKit.map((c: { cell: string }) => c.cell)).size).toBe(5);
    expect(new Set(out.stepKit.map((c: { kernels: string }) => c.kernels))).toEqual(
      new Set(['step', 'sequence']),
    );
    const text = bistable('verify', '--backend', 'reference', '--dtype', 'float32', '--step-kit');
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toMatch(/step kit: (\d+) of \1 kernel cases within tolerance/);
  });

  it('exits 1 and names the case when a reference value is wrong', () => {
    const bad = structuredClone(golden);
    bad.cells[2].h_seq.data[3] += 1e-6;
    const file = join(dir, 'tampered.json');
    writeFileSync(file, JSON.stringify(bad));
    const r = bistable('verify', '--golden', file, '--backend', 'reference');
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/nBRC_1 .*FAIL \(worst: h_seq\)/);
  });

  it.each([
    [['--backend', 'nope'], /unknown backend 'nope'/],
    [['--backend', 'tfjs-node-gpu'], /not (available|installed)|tfjs-node/],
    [['--dtype', 'float16'], /unknown dtype 'float16'/],
    [['--golden', '/nonexistent/file.json'], /cannot read golden file/],
  ])('exits 2 with a one-line error for %j', (args, message) => {
    const r = bistable('verify', ...args);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('exits 2 on a file that is not JSON, and on JSON of the wrong schema', () => {
    const notJson = join(dir, 'not.json');
    writeFileSync(notJson, '{"meta": ');
    expect(bistable('verify', '--golden', notJson).stderr).toMatch(/not valid JSON/);
    const wrong = structuredClone(golden);
    wrong.multilayer[1].h_n.shape = [9];
    const file = join(dir, 'wrong.json');
    writeFileSync(file, JSON.stringify(wrong));
    const r = bistable('verify', '--golden', file);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/multilayer\.1\.h_n.*does not match shape/);
  });

  it('exits 2 on an unknown flag', () => {
    const r = bistable('verify', '--frobnicate');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/unknown option '--frobnicate'/);
  });
});

describe('bistable backends', () => {
  it('lists every catalog name with a reason for each unavailable one', () => {
    const r = bistable('backends', '--json');
    expect(r.code, r.stderr).toBe(0);
    const list = JSON.parse(r.stdout) as { name: string; available: boolean; reason?: string }[];
    const names = list.map((b) => b.name);
    for (const n of [
      'reference',
      'tfjs-cpu',
      'tfjs-wasm',
      'tfjs-webgpu',
      'tfjs-node',
      'tfjs-node-gpu',
      'gpujs-cpu',
    ]) {
      expect(names).toContain(n);
    }
    expect(list.find((b) => b.name === 'reference')?.available).toBe(true);
    for (const b of list.filter((x) => !x.available)) expect(b.reason, b.name).toMatch(/\w/);
  });

  it('marks as auto what getBackend picks: cpu, the fastest that starts on a machine without a GPU', () => {
    const r = bistable('backends', '--json');
    expect(r.code, r.stderr).toBe(0);
    const list = JSON.parse(r.stdout) as {
      name: string;
      available: boolean;
      auto: boolean;
      priority: number | null;
      softwareDevice?: string;
    }[];
    expect(list.filter((b) => b.auto)).toHaveLength(1);
    const auto = list.find((b) => b.auto)!;
    // a native backend outranking it would have been picked; an emulated GPU (lavapipe) may not be
    for (const b of list.filter((x) => x.available && (x.priority ?? -1) > (auto.priority ?? 0)))
      expect(b.softwareDevice, `${b.name} outranks ${auto.name}`).toBeTruthy();
    if (!list.some((b) => b.available && !b.softwareDevice && b.name === 'tfjs-webgpu'))
      expect(auto.name).toBe('cpu');
    const table = bistable('backends');
    expect(table.stdout).toMatch(new RegExp(`^${auto.name} \\(auto\\) `, 'm'));
  });
});
