import { describe, expect, it } from 'vitest';
import { summarize } from '../src/bench/stats.js';
import {
  benchAlternating,
  benchEnsemble,
  benchSideBySide,
  benchTraining,
  getBackend,
  inferenceMultiplyAdds,
  trainingMultiplyAdds,
} from '../src/index.js';
import { forwarding } from './helpers.js';

describe('bench statistics', () => {
  it('gives the order statistics of the samples', () => {
    const s = summarize([5, 1, 4, 2, 3]);
    expect([s.min, s.q1, s.median, s.q3, s.max, s.mean]).toEqual([1, 2, 3, 4, 5, 3]);
    expect(summarize([1, 2, 3, 4]).median).toBe(2.5);
    expect(summarize([1, 2, 3, 4]).q1).toBe(1.75);
    expect(() => summarize([])).toThrow(/no timing samples/);
  });
});

describe('multiply-add counts', () => {
  it('counts the issue’s copy-first-input sizes by hand', () => {
    const o = { inputSize: 1, hidden: 100, layers: 2, batch: 100, seqLen: 100 };
    const TB = 100 * 100;
    // GRU: layer 1 input projection + its weight gradient (2·TB·1·300), three recurrent products
    // per layer (3·TB·100·300 each), layer 2 input projection, weight and input gradients (3·TB·100·300)
    expect(trainingMultiplyAdds({ cell: 'GRU', ...o })).toBe(
      2 * TB * 300 + 2 * 3 * TB * 100 * 300 + 3 * TB * 100 * 300,
    );
    // BRC has no recurrent product
    expect(trainingMultiplyAdds({ cell: 'BRC', ...o })).toBe(2 * TB * 300 + 3 * TB * 100 * 300);
    expect(inferenceMultiplyAdds({ cell: 'LSTM', ...o })).toBe(TB * 400 + TB * 100 * 400 * 3);
  });
});

describe('benchTraining', () => {
  it('times training steps and forward passes of the copy-first-input model on any backend', async () => {
    const phases: string[] = [];
    for (const name of ['reference', 'cpu']) {
      const r = await benchTraining(await getBackend(name), {
        cell: 'nBRC',
        seqLen: 6,
        batch: 3,
        hidden: 5,
        layers: 2,
        steps: 3,
        warmup: 1,
        onStep: (phase, i) => phases.push(`${phase}${i}`),
      });
      expect(r.backend).toBe(name);
      expect(r.train.samples).toHaveLength(3);
      expect(r.inference?.samples).toHaveLength(3);
      expect(r.train.min).toBeGreaterThan(0);
      expect(r.train.min).toBeLessThanOrEqual(r.train.median);
      expect(r.train.median).toBeLessThanOrEqual(r.train.max);
      expect(r.memory.rssDelta).not.toBeNull();
      expect(r.trainMultiplyAdds).toBe(
        trainingMultiplyAdds({ cell: 'nBRC', inputSize: 1, hidden: 5, layers: 2, batch: 3, seqLen: 6 }),
      );
    }
    expect(phases.slice(0, 7)).toEqual([
      'warmup0',
      'train0',
      'train1',
      'train2',
      'inference0',
      'inference1',
      'inference2',
    ]);
  });

  it('times two backends side by side, alternating which goes first', async () => {
    const order: string[] = [];
    const [a, b] = await benchSideBySide(await getBackend('cpu'), await getBackend('reference'), {
      cell: 'LSTM',
      seqLen: 4,
      batch: 2,
      hidden: 3,
      layers: 1,
      steps: 3,
      warmup: 1,
      inferenceSteps: 2,
      onStep: (phase, i, _ms, be) => order.push(`${phase}${i}:${be}`),
    });
    expect(order).toEqual([
      'warmup0:cpu',
      'warmup0:reference',
      'train0:cpu',
      'train0:reference',
      'train1:reference',
      'train1:cpu',
      'train2:cpu',
      'train2:reference',
      'inference0:cpu',
      'inference0:reference',
      'inference1:reference',
      'inference1:cpu',
    ]);
    expect([a.backend, b.backend]).toEqual(['cpu', 'reference']);
    expect(a.train.samples).toHaveLength(3);
    expect(b.inference?.samples).toHaveLength(2);
  });

  it('times any number of backends in rounds, forwards then backwards', async () => {
    const order: string[] = [];
    const cpu = await getBackend('cpu');
    const ref = await getBackend('reference');
    const slow = forwarding(ref, { name: 'reference-again' });
    const results = await benchAlternating([cpu, ref, slow], {
      cell: 'nBRC',
      seqLen: 3,
      batch: 2,
      hidden: 3,
      layers: 1,
      steps: 2,
      warmup: 0,
      inferenceSteps: 0,
      onStep: (phase, i, _ms, be) => order.push(`${phase}${i}:${be}`),
    });
    expect(order).toEqual([
      'train0:cpu',
      'train0:reference',
      'train0:reference-again',
      'train1:reference-again',
      'train1:reference',
      'train1:cpu',
    ]);
    expect(results.map((r) => r.backend)).toEqual(['cpu', 'reference', 'reference-again']);
    expect(results.every((r) => r.inference === null && r.train.samples.length === 2)).toBe(true);
    await expect(
      benchAlternating([], { cell: 'BRC', seqLen: 1, batch: 1, hidden: 1, layers: 1 }),
    ).rejects.toThrow(/at least one backend/);
  });

  it('times an ensemble against its members one after another: one Adam pass against one per member', async () => {
    const ref = await getBackend('reference');
    let adams = 0;
    const be = forwarding(ref, {
      view: (b, o, n) => ref.view!(b, o, n),
      adam: (a) => {
        adams++;
        ref.adam!(a);
      },
    });
    const perStep: number[] = [];
    const [together, apart] = await benchEnsemble(be, {
      cell: 'GRU',
      seqLen: 3,
      batch: 2,
      hidden: 3,
      layers: 2,
      members: 3,
      steps: 2,
      warmup: 1,
      onStep: (phase) => {
        perStep.push(adams);
        adams = 0;
        if (phase === 'inference') throw new Error('an ensemble bench times training steps only');
      },
    });
    // warm-up together, warm-up apart, then rounds: together, apart; apart, together
    expect(perStep).toEqual([1, 3, 1, 3, 3, 1]);
    expect([together.members, together.together, apart.members, apart.together]).toEqual([3, true, 3, false]);
    // the cpu backend's kernels take one model at a time
    expect([together.passesBatched, apart.passesBatched]).toEqual([false, false]);
    const one = await benchTraining(be, {
      cell: 'GRU',
      seqLen: 3,
      batch: 2,
      hidden: 3,
      layers: 2,
      steps: 1,
      warmup: 0,
    });
    expect(together.trainMultiplyAdds).toBe(3 * one.trainMultiplyAdds);
    expect(apart.trainMultiplyAdds).toBe(3 * one.trainMultiplyAdds);
    expect(together.inference).toBeNull();
    // without a listener every step is still taken
    const quiet = await benchEnsemble(be, {
      cell: 'GRU',
      seqLen: 3,
      batch: 2,
      hidden: 3,
      layers: 1,
      members: 2,
      steps: 3,
      warmup: 0,
    });
    expect(quiet.map((r) => r.train.samples.length)).toEqual([3, 3]);
    await expect(
      benchEnsemble(be, { cell: 'GRU', seqLen: 3, batch: 2, hidden: 3, layers: 2, members: 0 }),
    ).rejects.toThrow('members');
  });

  it('reports the micro-batch a step ran with', async () => {
    const be = await getBackend('reference');
    const base = { cell: 'GRU' as const, seqLen: 3, batch: 5, hidden: 2, layers: 2, steps: 1, warmup: 0 };
    expect(await benchTraining(be, base)).toMatchObject({ microBatch: 5, microBatches: 1 });
    expect(await benchTraining(be, { ...base, microBatch: 2 })).toMatchObject({
      microBatch: 2,
      microBatches: 3,
    });
    await expect(benchTraining(be, { ...base, microBatch: 0 })).rejects.toThrow(
      /microBatch must be a positive/,
    );
  });

  it('rejects bad sizes and dtypes with a message naming them', async () => {
    const be = await getBackend('reference');
    const base = { cell: 'GRU' as const, seqLen: 2, batch: 2, hidden: 2, layers: 1 };
    await expect(benchTraining(be, { ...base, seqLen: 0 })).rejects.toThrow(/seqLen/);
    await expect(benchTraining(be, { ...base, cell: 'RNN' as 'GRU' })).rejects.toThrow(/unknown cell 'RNN'/);
    await expect(benchTraining(be, { ...base, warmup: -1 })).rejects.toThrow(/warmup/);
  });
});
