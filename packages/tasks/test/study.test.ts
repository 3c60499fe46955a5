import { describe, expect, it } from 'vitest';
import { deriveSeed, plannedSteps, planRuns, preset } from '../src/index.js';

describe('study plans', () => {
  it("paper preset: brc_pytorch's sizes, 12 copy-first-input runs and 40 binary-addition runs", () => {
    const copy = planRuns(preset('copy-first-input', 'paper'));
    expect(copy).toHaveLength(12);
    expect(copy.map((r) => r.id).slice(0, 4)).toEqual(['LSTM-T5-2L', 'GRU-T5-2L', 'nBRC-T5-2L', 'BRC-T5-2L']);
    expect(plannedSteps(copy[0])).toBe(60 * 450);
    const bin = planRuns(preset('binary-addition', 'paper'));
    expect(bin).toHaveLength(4 * 2 * 5);
    expect(plannedSteps(bin[0])).toBe(18 * 15 * 50);
  });

  it('cells of one length share data, every model has its own seed, and plans are reproducible', () => {
    const runs = planRuns(preset('copy-first-input', 'paper'));
    const t5 = runs.filter((r) => r.task === 'copy-first-input' && r.config.length === 5);
    expect(new Set(t5.map((r) => r.config.dataSeed)).size).toBe(1);
    expect(new Set(runs.map((r) => r.config.modelSeed)).size).toBe(runs.length);
    expect(new Set(runs.map((r) => r.config.dataSeed)).size).toBe(3);
    expect(planRuns(preset('copy-first-input', 'paper'))).toEqual(runs);
    const other = { ...preset('copy-first-input', 'paper'), seed: 1 };
    expect(planRuns(other)[0].config.modelSeed).not.toBe(runs[0].config.modelSeed);
  });

  it('derived seeds are exact integers and differ by every part', () => {
    const s = deriveSeed(0, 'a', 1);
    expect(Number.isSafeInteger(s)).toBe(true);
    expect(deriveSeed(0, 'a', 1)).toBe(s);
    expect(
      new Set([s, deriveSeed(1, 'a', 1), deriveSeed(0, 'b', 1), deriveSeed(0, 'a', 2), deriveSeed(0, 'a1')])
        .size,
    ).toBe(5);
  });

  it('names the problem in bad studies', () => {
    const p = preset('copy-first-input', 'quick');
    expect(() => planRuns({ ...p, cells: ['LSTM', 'RNN' as 'GRU'] })).toThrow(/unknown cell 'RNN'/);
    expect(() => planRuns({ ...p, lengths: [1] } as typeof p)).toThrow(/T >= 2/);
    expect(() => planRuns({ ...p, hidden: -3 })).toThrow(/hidden/);
    expect(() => planRuns({ ...p, cells: [] })).toThrow(/at least one/);
    expect(() => preset('copy-first-input', 'huge')).toThrow(/unknown preset 'huge'/);
  });
});
