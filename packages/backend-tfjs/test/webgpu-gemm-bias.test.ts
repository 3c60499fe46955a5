import { Rng } from '@bistable/core';
import { worstError } from '@bistable/core/testing';
import { describe, expect, it } from 'vitest';
import { wgslRunner } from '../src/webgpu/index.js';
import { gemmBiasHost, gemmShape } from './host-gemm.js';
import { logSkip, probe, webgpuBackend } from './webgpu-setup.js';

/**
 * The bias epilogue of the WGSL GEMM (GemmArgs.bias, biasOffset, biasLength) against a float64
 * host GEMM, on both store paths: the tiled kernel's own (short K) and the split-K reduce (long
 * K, small output). Skipped without a WebGPU adapter (eval "$(bash scripts/lavapipe.sh)").
 */
logSkip('WebGPU GEMM bias tests');

const randn = (rng: Rng, n: number) => Float32Array.from({ length: n }, () => rng.normal());

describe.skipIf(!probe.ok)('tfjs-webgpu: GEMM with a bias row', () => {
  it('matches a float64 host GEMM plus bias over transposes, beta, biasLength and split-K', async () => {
    const be = await webgpuBackend();
    const rng = new Rng(17);
    // [m, n, k, transA, transB, alpha, beta, biasLength (undefined: n)]
    const cases: [number, number, number, boolean, boolean, number, number, number | undefined][] = [
      [5, 7, 9, false, false, 1, 0, undefined],
      [70, 130, 33, true, false, 1, 1, 90],
      [65, 3, 17, false, true, 2, -0.5, 2],
      [40, 66, 20, true, true, 1, 0, 0],
      // split-K (long K, small output): the bias goes in through the reduce
      [5, 7, 1500, true, false, 1, 0, undefined],
      [3, 150, 1200, false, false, 0.5, 1, 100],
      [9, 12, 700, true, true, 1, 1, 5],
      // K = 0: C = beta·C + bias
      [4, 6, 0, false, false, 1, 0.5, 4],
    ];
    for (const [m, n, k, transA, transB, alpha, beta, biasLength] of cases) {
      const [ar, ac] = transA ? [k, m] : [m, k];
      const [br, bc] = transB ? [n, k] : [k, n];
      const g = {
        transA,
        transB,
        m,
        n,
        k,
        alpha,
        beta,
        aOffset: 3,
        lda: ac + 2,
        bOffset: 1,
        ldb: bc + 3,
        cOffset: 4,
        ldc: n + 1,
        biasOffset: 6,
        biasLength,
      };
      const aLen = g.aOffset + Math.max(0, ar - 1) * g.lda + ac + 2;
      const bLen = g.bOffset + Math.max(0, br - 1) * g.ldb + bc + 2;
      const cLen = g.cOffset + (m - 1) * g.ldc + n + 3;
      const [a, b, c, bias] = [randn(rng, aLen), randn(rng, bLen), randn(rng, cLen), randn(rng, n + 9)];
      if (beta === 0) c[g.cOffset] = Number.NaN;
      const bufs = [aLen, bLen, cLen, n + 9].map((len) => be.alloc(len, 'float32'));
      [a, b, c, bias].forEach((x, i) => {
        be.write(bufs[i], x);
      });
      be.gemm({ ...g, a: bufs[0], b: bufs[1], c: bufs[2], bias: bufs[3] });
      const want = gemmBiasHost(g, a, b, Float64Array.from(c), bias);
      const got = await be.read(bufs[2]);
      const what = `${m}×${n}×${k} ${transA ? 'T' : 'N'}${transB ? 'T' : 'N'} beta ${beta} biasLength ${biasLength}`;
      expect(worstError(got, want), what).toBeLessThan(1e-5 * Math.sqrt(k + 1));
      for (const buf of bufs) be.dispose(buf);
    }
  });

  it('a bias row in the same buffer as B (a weight matrix and its bias), split and unsplit', async () => {
    const be = await webgpuBackend();
    const rng = new Rng(5);
    for (const k of [24, 900]) {
      const [m, n] = [6, 10];
      // B [k, n] at 0, the bias row right after it
      const wb = randn(rng, k * n + n);
      const a = randn(rng, m * k);
      const c = new Float32Array(m * n);
      const [ga, gw, gc] = [
        be.alloc(a.length, 'float32'),
        be.alloc(wb.length, 'float32'),
        be.alloc(c.length, 'float32'),
      ];
      be.write(ga, a);
      be.write(gw, wb);
      const g = gemmShape({ m, n, k, biasOffset: k * n });
      be.gemm({ ...g, a: ga, b: gw, c: gc, bias: gw });
      const want = gemmBiasHost(g, a, wb, Float64Array.from(c), wb);
      expect(worstError(await be.read(gc), want), `k ${k}`).toBeLessThan(1e-5 * Math.sqrt(k + 1));
      for (const buf of [ga, gw, gc]) be.dispose(buf);
    }
  });

  it('weights and bias as views of one parameter buffer, C a view of another, split and unsplit', async () => {
    const be = await webgpuBackend();
    const align = be.viewAlign;
    const up = (x: number) => Math.ceil(x / align) * align;
    const rng = new Rng(8);
    for (const k of [24, 900]) {
      const [m, n, biasLength] = [7, 12, 8];
      // params: [pad | W (k×n) | bias (n)]; out: [pad | C (m×n) | tail]
      const wAt = up(5);
      const bAt = up(wAt + k * n);
      const params = randn(rng, bAt + n + 3);
      const a = randn(rng, m * k);
      const cAt = up(3);
      const out = randn(rng, cAt + m * n + 4);
      const [ga, gp, go] = [
        be.alloc(a.length, 'float32'),
        be.alloc(params.length, 'float32'),
        be.alloc(out.length, 'float32'),
      ];
      be.write(ga, a);
      be.write(gp, params);
      be.write(go, out);
      const g = gemmShape({ m, n, k, beta: 1, biasOffset: 0, biasLength });
      be.gemm({
        ...g,
        a: ga,
        b: be.view(gp, wAt, k * n),
        c: be.view(go, cAt, m * n),
        bias: be.view(gp, bAt, n),
      });
      const want = gemmBiasHost(
        { ...g, bOffset: wAt, cOffset: cAt, biasOffset: bAt },
        a,
        params,
        Float64Array.from(out),
        params,
      );
      expect(worstError(await be.read(go), want), `k ${k}`).toBeLessThan(1e-5 * Math.sqrt(k + 1));
      for (const buf of [ga, gp, go]) be.dispose(buf);
    }
  });

  it('with and without a bias share one pipeline per kernel', async () => {
    const be = await webgpuBackend();
    const runner = wgslRunner();
    const rng = new Rng(1);
    const [m, n, k] = [8, 8, 8];
    const bufs = [m * k, k * n, m * n, n].map((len) => be.alloc(len, 'float32'));
    bufs.forEach((b, i) => {
      be.write(b, randn(rng, [m * k, k * n, m * n, n][i]));
    });
    const g = gemmShape({ m, n, k, a: bufs[0], b: bufs[1], c: bufs[2] });
    be.gemm(g);
    await be.sync();
    const before = runner.stats.pipelines;
    be.gemm({ ...g, bias: bufs[3] });
    be.gemm({ ...g, bias: bufs[3], biasLength: 3 });
    await be.sync();
    expect(runner.stats.pipelines - before).toBe(0);
    for (const buf of bufs) be.dispose(buf);
  });

  it('refuses a bias row that overruns its buffer or a biasLength beyond n', async () => {
    const be = await webgpuBackend();
    const [a, b, c, bias] = [4, 4, 4, 3].map((len) => be.alloc(len, 'float32'));
    const g = gemmShape({ m: 2, n: 2, k: 2, a, b, c, bias });
    expect(() => be.gemm({ ...g, biasOffset: 2 })).toThrow(/bias row of 2 values at 2 overruns/);
    expect(() => be.gemm({ ...g, biasLength: 3 })).toThrow(/biasLength 3/);
    for (const buf of [a, b, c, bias]) be.dispose(buf);
  });
});
