import { describe, expect, it } from 'vitest';
import {
  type Frame,
  logTicks,
  polylinePoints,
  scaleFor,
  xOf,
  yOf,
} from '../.vitepress/theme/demo/chart-geometry.js';

const frame: Frame = { width: 110, height: 100, pad: { left: 10, right: 0, top: 0, bottom: 0 } };

describe('the loss chart geometry', () => {
  it('has no scale before two steps or without a finite loss', () => {
    expect(scaleFor([[1]])).toBeNull();
    expect(scaleFor([[Number.NaN, Number.NaN]])).toBeNull();
  });

  it('maps the extreme losses inside the frame, larger losses higher up', () => {
    const sc = scaleFor([
      [1, 0.1],
      [0.5, 0.01],
    ])!;
    const [top, bottom] = [yOf(1, sc, frame), yOf(0.01, sc, frame)];
    expect(top).toBeGreaterThan(0);
    expect(bottom).toBeLessThan(100);
    expect(top).toBeLessThan(yOf(0.1, sc, frame));
    // log scale: each decade takes the same height
    expect(yOf(0.1, sc, frame) - top).toBeCloseTo(bottom - yOf(0.1, sc, frame), 9);
    expect(xOf(0, sc, frame)).toBe(10);
    expect(xOf(1, sc, frame)).toBe(110);
  });

  it('thins a long series to one point per pixel column, keeping each column’s mean', () => {
    const series = Array.from({ length: 1000 }, (_, i) => (i % 2 === 0 ? 0.1 : 0.3));
    const sc = scaleFor([series])!;
    const pts = polylinePoints(series, sc, frame).split(' ');
    expect(pts.length).toBe(100);
    const ys = new Set(pts.map((p) => p.split(',')[1]));
    // every column averages 0.1 and 0.3 equally
    expect([...ys]).toEqual([yOf(0.2, sc, frame).toFixed(1)]);
  });

  it('puts ticks at 1, 2 and 5 times powers of ten inside a narrow range, decades in a wide one', () => {
    expect(logTicks({ steps: 2, logMin: Math.log10(0.015), logMax: Math.log10(1.1) })).toEqual([
      0.02, 0.05, 0.1, 0.2, 0.5, 1,
    ]);
    expect(logTicks({ steps: 2, logMin: -4.5, logMax: 0.2 })).toEqual([1e-4, 1e-3, 1e-2, 1e-1, 1]);
  });
});
