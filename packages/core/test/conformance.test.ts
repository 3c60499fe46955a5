import { describe, expect, it } from 'vitest';
import { type DType, getBackend } from '../src/index.js';
import { bundledGoldenPath, conformanceCases, type GoldenFile, loadGolden } from '../src/testing/index.js';

const golden = await loadGolden(bundledGoldenPath());
const reference = await getBackend('reference');
const cases = conformanceCases(golden, reference);

describe('the conformance kit on the reference backend', () => {
  it('covers every oracle case at every kernel level', () => {
    const n = golden.cells.length + golden.multilayer.length + golden.training_step.length;
    expect(n).toBe(14);
    expect(cases.length).toBe(3 * n);
  });

  for (const dtype of ['float64', 'float32'] as DType[]) {
    describe(dtype, () => {
      it.each(cases.map((c) => [`${c.id} level ${c.level}`, c] as const))('%s', async (_, c) => {
        const r = await c.run(await getBackend('reference'), dtype);
        const detail = `forward error ${r.forwardError} (tol ${r.forwardTolerance}), gradient error ${r.gradientError} (tol ${r.gradientTolerance}), worst: ${r.worst}`;
        expect(r.passed, detail).toBe(true);
      });
    });
  }

  it('fails a case whose reference value is off by 1e-9', async () => {
    const bent: GoldenFile = structuredClone(golden);
    bent.cells[0].h_seq.data[3] += 1e-9;
    bent.multilayer[1].grads.params['cells.1.weight_hh'].data[0] += 1e-8;
    const be = await getBackend('reference');
    const [cell] = conformanceCases({ ...bent, multilayer: [], training_step: [] }, reference, [1]);
    const r = await cell.run(be, 'float64');
    expect(r.passed).toBe(false);
    expect(r.worst).toBe('h_seq');
    const [ml] = conformanceCases(
      { ...bent, cells: [], multilayer: [bent.multilayer[1]], training_step: [] },
      reference,
      [3],
    );
    const r2 = await ml.run(be, 'float64');
    expect(r2.passed).toBe(false);
    expect(r2.worst).toBe('grad cells.1.weight_hh');
  });
});
