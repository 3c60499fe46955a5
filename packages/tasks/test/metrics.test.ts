import { bceLoss } from '@bistable/core';
import { describe, expect, it } from 'vitest';
import {
  correctSequences,
  meanBinaryCrossEntropy,
  meanSquaredError,
  predictedBit,
  sampleStd,
  standardError,
  trailingMovingAverage,
} from '../src/index.js';

describe('metrics', () => {
  it('MSE is the mean of squared differences', () => {
    expect(meanSquaredError([1, 2, 3], [1, 0, 0])).toBeCloseTo((0 + 4 + 9) / 3, 15);
  });

  it("BCE on logits equals brc_pytorch's Sigmoid + BCELoss", () => {
    const logits = [-3.2, -0.1, 0, 0.4, 5, -12];
    const target = [0, 1, 1, 0, 1, 0];
    const probs = logits.map((x) => 1 / (1 + Math.exp(-x)));
    expect(meanBinaryCrossEntropy(logits, target)).toBeCloseTo(bceLoss(probs, target), 12);
  });

  it('rounds half to even on the probability: p = 0.5 is 0, and float32 sigmoid saturates at 0.5', () => {
    expect(predictedBit(0)).toBe(0);
    expect(predictedBit(1e-3)).toBe(1);
    expect(predictedBit(-1e-3)).toBe(0);
    // sigmoid(1e-9) = 0.50000000025: 0.5 in float32 (torch rounds it to 0), above 0.5 in float64
    expect(predictedBit(1e-9, 'float32')).toBe(0);
    expect(predictedBit(1e-9, 'float64')).toBe(1);
  });

  it('counts a sample only when every step is right', () => {
    // two samples of three steps; the second has one wrong step
    const logits = [5, -5, 5, 5, -5, -5];
    const target = [1, 0, 1, 1, 0, 1];
    expect(correctSequences(logits, target, 2)).toBe(1);
  });
});

describe('statistics', () => {
  it('trailing moving average matches a direct mean of the last W values', () => {
    const v = Array.from({ length: 57 }, (_, i) => Math.sin(i) + i / 10);
    const W = 7;
    const ma = trailingMovingAverage(v, W);
    for (let i = 0; i < v.length; i++) {
      const win = v.slice(Math.max(0, i - W + 1), i + 1);
      expect(ma[i]).toBeCloseTo(win.reduce((a, b) => a + b, 0) / win.length, 12);
    }
  });

  it('SEM uses the sample standard deviation (ddof = 1), as scipy.stats.sem', () => {
    // scipy.stats.sem([1, 2, 3, 4]) = 0.6454972243679028
    expect(standardError([1, 2, 3, 4])).toBeCloseTo(0.6454972243679028, 14);
    expect(sampleStd([2, 4, 4, 4, 5, 5, 7, 9])).toBeCloseTo(Math.sqrt(32 / 7), 14);
    expect(standardError([0.5])).toBeNaN();
  });
});
