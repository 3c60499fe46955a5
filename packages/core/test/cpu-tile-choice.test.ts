import { describe, expect, it, vi } from 'vitest';
import { measureTileRows, tileRowsFromEnv } from '../src/cpu/tile-choice.js';
import { CpuBackend, InputError, matmul } from '../src/index.js';

describe('the cpu GEMM tile height', () => {
  it('is measured at creation unless given, and the choice is one of the two heights', async () => {
    const measured = await CpuBackend.create({ threads: 1 });
    expect([4, 6]).toContain(measured.tileRows);
    expect([4, 6]).toContain(measureTileRows(measured.wasm, measured.heap));
    measured.destroy();
    for (const tileRows of [4, 6] as const) {
      const be = await CpuBackend.create({ threads: 1, tileRows });
      expect(be.tileRows).toBe(tileRows);
      be.destroy();
    }
  });

  it('rejects heights other than 4 and 6, from the option and from BISTABLE_CPU_TILE', async () => {
    await expect(CpuBackend.create({ threads: 1, tileRows: 5 as 4 })).rejects.toThrow(
      /tileRows must be 4 or 6, got 5/,
    );
    expect(() => tileRowsFromEnv('8')).toThrow(InputError);
    expect(() => tileRowsFromEnv('six')).toThrow(/BISTABLE_CPU_TILE must be 4 or 6.*'six'/);
    expect([
      tileRowsFromEnv(undefined),
      tileRowsFromEnv(''),
      tileRowsFromEnv('4'),
      tileRowsFromEnv('6'),
    ]).toEqual([undefined, undefined, 4, 6]);
  });

  it('gives bit-identical products at both heights', async () => {
    const [t4, t6] = await Promise.all(
      [4, 6].map((r) => CpuBackend.create({ threads: 2, parallelThreshold: 0, tileRows: r as 4 | 6 })),
    );
    const m = 53;
    const n = 37;
    const k = 70;
    const a = Float32Array.from({ length: m * k }, (_, i) => Math.sin(i));
    const b = Float32Array.from({ length: k * n }, (_, i) => Math.cos(i * 0.7));
    const out: Float32Array[] = [];
    for (const be of [t4, t6]) {
      const [A, B, C] = [a, b, new Float32Array(m * n)].map((d) => {
        const buf = be.alloc(d.length, 'float32');
        be.write(buf, d);
        return buf;
      });
      matmul(be, { m, n, k, a: A, b: B, c: C });
      out.push((await be.read(C)) as Float32Array);
      be.destroy();
    }
    // each element sums its products in the same order whatever the tile, so the bits agree
    expect(Array.from(out[1])).toEqual(Array.from(out[0]));
    expect(out[0].some((v) => v !== 0)).toBe(true);
  });
});

describe('the tile measurement under a coarse clock', () => {
  it('is skipped, keeping the 4×8 tile, when performance.now() moves in 0.1 ms steps', async () => {
    const be = await CpuBackend.create({ threads: 1, tileRows: 4 });
    const real = globalThis.performance.now.bind(globalThis.performance);
    // the module's exports are frozen: the measurement gets a copy whose tileBench is a spy
    const bench = vi.fn(be.wasm.tileBench);
    const wasm = { ...be.wasm, tileBench: bench };
    try {
      expect(measureTileRows(wasm, be.heap)).toBeOneOf([4, 6]);
      expect(bench).toHaveBeenCalled();
      bench.mockClear();
      // rounded timings would compare rounding, not tiles: the taller tile's longer calls could
      // look faster per multiply-add, so nothing may be timed
      vi.spyOn(globalThis.performance, 'now').mockImplementation(() => Math.floor(real() / 0.1) * 0.1);
      expect(measureTileRows(wasm, be.heap)).toBe(4);
      expect(bench).not.toHaveBeenCalled();
    } finally {
      vi.restoreAllMocks();
      be.destroy();
    }
  });
});
