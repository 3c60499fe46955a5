import { describe, expect, it } from 'vitest';
import { type DType, getBackend, kernelLevels, registerCpuBackend } from '../src/index.js';
import { bundledGoldenPath, conformanceCases, loadGolden } from '../src/testing/index.js';

const golden = await loadGolden(bundledGoldenPath());
// the shipped backend, and one forced onto two threads even for these tiny shapes, so that the
// row split of the sequence kernels and the block split of the GEMM meet the oracle as well
registerCpuBackend({ name: 'cpu-conformance-mt', threads: 2, parallelThreshold: 0 });
// both heights of the GEMM's register tile, whichever one this engine picks
registerCpuBackend({ name: 'cpu-conformance-t4', threads: 2, parallelThreshold: 0, tileRows: 4 });
registerCpuBackend({ name: 'cpu-conformance-t6', threads: 2, parallelThreshold: 0, tileRows: 6 });

const names = ['cpu', 'cpu-conformance-mt', 'cpu-conformance-t4', 'cpu-conformance-t6'];
const backends = new Map(await Promise.all(names.map(async (n) => [n, await getBackend(n)] as const)));

describe.each(names)('the conformance kit on %s', (name) => {
  const be = backends.get(name)!;
  const cases = conformanceCases(golden, be);

  it('offers whole-sequence kernels for every built-in cell, so every case runs at levels 1 and 3', () => {
    for (const cell of ['BRC', 'nBRC', 'GRU', 'LSTM'] as const)
      expect(kernelLevels(be, cell)).toEqual([1, 3]);
    expect(cases.length).toBe(
      2 * (golden.cells.length + golden.multilayer.length + golden.training_step.length),
    );
  });

  for (const dtype of ['float32', 'float64'] as DType[]) {
    it.each(cases.map((c) => [`${dtype} ${c.id} level ${c.level}`, c] as const))('%s', async (_, c) => {
      const r = await c.run(be, dtype);
      const detail = `forward ${r.forwardError} (tol ${r.forwardTolerance}), gradient ${r.gradientError} (tol ${r.gradientTolerance}), worst: ${r.worst}`;
      expect(r.passed, detail).toBe(true);
    });
  }
});
