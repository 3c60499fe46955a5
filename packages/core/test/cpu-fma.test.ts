import { setFlagsFromString } from 'node:v8';
import { describe, expect, it } from 'vitest';

// Node 20 has relaxed SIMD behind a flag (Node 22 and browsers have it on): turn it on before
// core compiles any module, so that the fused multiply-add build of the cpu kernels is tested
// here too. The flag is process-wide; this file runs in its own process.
setFlagsFromString('--experimental-wasm-relaxed-simd');
const { CpuBackend, gemmHost, getBackend, registerCpuBackend, Rng } = await import('../src/index.js');
const { hasRelaxedSimd } = await import('../src/cpu/wasm/module.js');
const { bundledGoldenPath, conformanceCases, loadGolden } = await import('../src/testing/index.js');
const { expectAccurateGates, maxRelErr } = await import('./helpers.js');

registerCpuBackend({ name: 'cpu-fma-mt', threads: 2, parallelThreshold: 0, fma: true });
const fmaBackend = await getBackend('cpu-fma-mt');
const golden = await loadGolden(bundledGoldenPath());

describe('the cpu backend with fused multiply-adds (relaxed SIMD)', () => {
  it('is chosen by default where the engine has relaxed SIMD, and can be turned off', async () => {
    expect(hasRelaxedSimd()).toBe(true);
    const auto = await CpuBackend.create({ threads: 1 });
    const off = await CpuBackend.create({ threads: 1, fma: false });
    expect([auto.fma, off.fma]).toEqual([true, false]);
    auto.destroy();
    off.destroy();
  });

  it('computes sigmoid and tanh (fused polynomial) as accurately as the plain build', async () => {
    const be = await CpuBackend.create({ threads: 1, fma: true });
    await expectAccurateGates(be);
    be.destroy();
  });

  it('multiplies as the float64 reference does, on every GEMM path', async () => {
    const be = await getBackend('cpu-fma-mt');
    expect((be as { fma?: boolean }).fma).toBe(true);
    const rng = new Rng(3);
    for (const [m, n, k] of [
      [37, 29, 300],
      [130, 12, 1100],
      [5, 530, 9],
    ]) {
      for (const transA of [false, true]) {
        const a = Float64Array.from({ length: m * k }, () => Math.fround(rng.normal()));
        const b = Float64Array.from({ length: k * n }, () => Math.fround(rng.normal()));
        const want = new Float64Array(m * n);
        const lda = transA ? m : k;
        gemmHost({
          transA,
          transB: false,
          m,
          n,
          k,
          alpha: 1,
          beta: 0,
          a,
          aOffset: 0,
          lda,
          b,
          bOffset: 0,
          ldb: n,
          c: want,
          cOffset: 0,
          ldc: n,
        });
        const [A, B, C] = [a, b, want].map((d) => {
          const buf = be.alloc(d.length, 'float32');
          be.write(buf, d);
          return buf;
        });
        be.gemm({
          transA,
          transB: false,
          m,
          n,
          k,
          alpha: 1,
          beta: 0,
          a: A,
          aOffset: 0,
          lda,
          b: B,
          bOffset: 0,
          ldb: n,
          c: C,
          cOffset: 0,
          ldc: n,
        });
        expect(maxRelErr(await be.read(C), want), `${m}x${n}x${k} transA ${transA}`).toBeLessThan(
          2e-6 * Math.sqrt(k),
        );
        for (const buf of [A, B, C]) be.dispose(buf);
      }
    }
  });

  it.each(conformanceCases(golden, fmaBackend).map((c) => [`${c.id} level ${c.level}`, c] as const))(
    'passes the conformance kit in float32: %s',
    async (_, c) => {
      const r = await c.run(await getBackend('cpu-fma-mt'), 'float32');
      expect(r.passed, `forward ${r.forwardError}, gradient ${r.gradientError}, worst: ${r.worst}`).toBe(
        true,
      );
    },
  );
});
