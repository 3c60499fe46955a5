import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type Backend,
  clipGradients,
  type DeviceBuffer,
  fit,
  type HostArray,
  type Optimizer,
} from '../../src/index.js';
import { forwarding } from '../helpers.js';
import { handLoop, makeData, makeModel, reference, sameParameters } from './setup.js';

const N = 14;
const BS = 4;

async function gradients(model: ReturnType<typeof makeModel>['model']): Promise<HostArray[]> {
  return Promise.all(model.parameters().map((p) => reference.read(p.grad)));
}

function globalNorm(gs: HostArray[]): number {
  let s = 0;
  for (const g of gs) for (const v of g) s += v * v;
  return Math.sqrt(s);
}

/** `inner` that records the gradients it is about to apply, i.e. after any clipping. */
function recording(inner: Optimizer, model: ReturnType<typeof makeModel>['model']) {
  const seen: HostArray[][] = [];
  const opt: Optimizer = {
    backend: inner.backend,
    async step() {
      seen.push(await gradients(model));
      await inner.step();
    },
    state: () => inner.state(),
    loadState: (s) => inner.loadState(s),
    dispose: () => inner.dispose(),
  };
  return { opt, seen };
}

describe('gradient clipping', () => {
  it('with bounds far above the gradients changes nothing, bit for bit', async () => {
    const data = makeData(N);
    const a = makeModel();
    const b = makeModel();
    const plain = await fit(a.model, a.adam, data, { epochs: 2, batchSize: BS });
    const norms: number[] = [];
    const clipped = await fit(b.model, b.adam, data, {
      epochs: 2,
      batchSize: BS,
      clipNorm: 1e300,
      clipValue: 1e300,
      callbacks: { onBatchEnd: ({ gradNorm }) => void norms.push(gradNorm as number) },
    });
    expect(clipped).toEqual(plain);
    expect(await sameParameters(a.model, b.model)).toBe(true);
    expect(norms.every((n) => n > 0 && Number.isFinite(n))).toBe(true);
  });

  it('by norm: the gradients keep their direction and their global norm becomes clipNorm', async () => {
    const data = makeData(N);
    const { model, adam } = makeModel();
    await model.lossAndGradients(data.x, data.y);
    const before = await gradients(model);
    const norm = globalNorm(before);
    const clipNorm = norm / 7;
    const r = await clipGradients(reference, [model], { clipNorm });
    expect(r).toEqual({ norm, clipped: true });
    const after = await gradients(model);
    expect(Math.abs(globalNorm(after) - clipNorm) / clipNorm).toBeLessThan(1e-12);
    // the same direction: every element scaled by one factor
    for (const [k, g] of after.entries()) {
      for (let i = 0; i < g.length; i++) expect(g[i]).toBeCloseTo((before[k][i] * clipNorm) / norm, 14);
    }
    adam.dispose();
  });

  it('by norm inside fit: every applied gradient has norm min(clipNorm, its norm), reported in onBatchEnd', async () => {
    const data = makeData(N);
    const { model, adam } = makeModel();
    const { opt, seen } = recording(adam, model);
    const reported: number[] = [];
    const clipNorm = 0.05;
    await fit(model, opt, data, {
      epochs: 2,
      batchSize: BS,
      clipNorm,
      callbacks: { onBatchEnd: ({ gradNorm }) => void reported.push(gradNorm as number) },
    });
    expect(seen).toHaveLength(reported.length);
    expect(reported.some((n) => n > clipNorm)).toBe(true);
    for (const [s, gs] of seen.entries()) {
      const want = Math.min(clipNorm, reported[s]);
      expect(Math.abs(globalNorm(gs) - want) / want).toBeLessThan(1e-12);
    }
  });

  it('by value inside fit: every applied gradient element lies in [−clipValue, clipValue]', async () => {
    const data = makeData(N);
    const { model, adam } = makeModel();
    const { opt, seen } = recording(adam, model);
    const clipValue = 0.01;
    await fit(model, opt, data, { epochs: 1, batchSize: BS, clipValue });
    let atBound = 0;
    for (const gs of seen) {
      for (const g of gs) {
        for (const v of g) {
          expect(Math.abs(v)).toBeLessThanOrEqual(clipValue);
          if (Math.abs(v) === clipValue) atBound++;
        }
      }
    }
    expect(atBound).toBeGreaterThan(0);
  });

  it('off, fit reads from the backend exactly what the hand-written loop reads', async () => {
    const counting = (be: Backend) => {
      let reads = 0;
      const wrapped = forwarding(be, {
        read: (b, o, n, out) => {
          reads++;
          return be.read(b, o, n, out);
        },
      });
      return { wrapped, reads: () => reads };
    };
    const data = makeData(N);
    const a = counting(reference);
    const b = counting(reference);
    const ma = makeModel(4, a.wrapped);
    const mb = makeModel(4, b.wrapped);
    await handLoop(ma.model, ma.adam, data, { epochs: 2, batchSize: BS, seed: 0 });
    await fit(mb.model, mb.adam, data, { epochs: 2, batchSize: BS });
    expect(b.reads()).toBe(a.reads());
    const c = counting(reference);
    const mc = makeModel(4, c.wrapped);
    await fit(mc.model, mc.adam, data, { epochs: 2, batchSize: BS, clipNorm: 1 });
    expect(c.reads()).toBeGreaterThan(a.reads());
  });
});

describe('clipGradients on arbitrary gradients', () => {
  /** One parameter source per array, its gradient on the reference backend. */
  function sources(arrays: number[][]) {
    const grads: DeviceBuffer[] = arrays.map((a) => {
      const buf = reference.alloc(a.length, 'float64');
      reference.write(buf, a);
      return buf;
    });
    return {
      grads,
      source: { parameters: () => grads.map((grad, i) => ({ name: `p${i}`, value: grad, grad })) },
    };
  }
  const arrays = fc.array(
    fc.array(fc.double({ min: -1e3, max: 1e3, noNaN: true }), { minLength: 1, maxLength: 20 }),
    {
      minLength: 1,
      maxLength: 5,
    },
  );

  it('by norm: at most clipNorm afterwards; untouched when already within it', async () => {
    await fc.assert(
      fc.asyncProperty(arrays, fc.double({ min: 1e-3, max: 1e4, noNaN: true }), async (a, clipNorm) => {
        const { grads, source } = sources(a);
        const before = a.flat();
        const r = await clipGradients(reference, [source], { clipNorm });
        const after = (await Promise.all(grads.map((g) => reference.read(g)))).flatMap((g) => Array.from(g));
        expect(Math.abs(r.norm - Math.hypot(...before))).toBeLessThanOrEqual(1e-9 * Math.max(1, r.norm));
        if (r.norm <= clipNorm) {
          expect(r.clipped).toBe(false);
          expect(after).toEqual(before);
        } else {
          expect(Math.abs(Math.hypot(...after) - clipNorm) / clipNorm).toBeLessThan(1e-12);
        }
      }),
      { numRuns: 60 },
    );
  });

  it('by value: every element clamped to the bound, the rest untouched', async () => {
    await fc.assert(
      fc.asyncProperty(arrays, fc.double({ min: 1e-3, max: 1e3, noNaN: true }), async (a, clipValue) => {
        const { grads, source } = sources(a);
        await clipGradients(reference, [source], { clipValue });
        const after = (await Promise.all(grads.map((g) => reference.read(g)))).flatMap((g) => Array.from(g));
        expect(after).toEqual(a.flat().map((v) => Math.min(clipValue, Math.max(-clipValue, v))));
      }),
      { numRuns: 60 },
    );
  });
});
