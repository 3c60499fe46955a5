import { adamHost, type DeviceBuffer, type GemmArgs, gemmHost, Rng } from '@bistable/core';
import { worstError as maxRelErr } from '@bistable/core/testing';
import { describe, expect, it } from 'vitest';
import { TfjsBackend } from '../src/backend.js';
import { WebgpuTfjsBackend, wgslRunner } from '../src/webgpu/index.js';
import { flatEntry, flatGroups } from '../src/webgpu/wgsl-common.js';
import { logSkip, probe, webgpuBackend } from './webgpu-setup.js';

/**
 * Views on tfjs-webgpu (WebgpuTfjsBackend.view, buffer-view.ts): a view aliases a range of a
 * plain buffer, the runner binds it as that range of the parent's GPU buffer (or the whole parent
 * for a `whole` role), and every method works on it as on a buffer of its own. Checked against a
 * host mirror of the parent, core's gemmHost and adamHost, and plain buffers. Needs a WebGPU
 * adapter (lavapipe in CI); skipped with the reason otherwise.
 */
logSkip('WebGPU view tests');

const seq = (n: number, f: (i: number) => number) => Float32Array.from({ length: n }, (_, i) => f(i));
const randn = (rng: Rng, n: number) => Float32Array.from({ length: n }, () => rng.normal());
const arr = async (be: WebgpuTfjsBackend, buf: DeviceBuffer) => Array.from(await be.read(buf));

describe.skipIf(!probe.ok)('tfjs-webgpu: buffer views', () => {
  it('viewAlign is the device storage offset alignment, in elements', async () => {
    const be = await webgpuBackend();
    const align = wgslRunner().device.limits.minStorageBufferOffsetAlignment / 4;
    expect(be.viewAlign).toBe(align);
    expect(Number.isInteger(be.viewAlign) && be.viewAlign >= 1).toBe(true);
  });

  it('read, write, fill and copy on views change exactly their range of the parent', async () => {
    const be = await webgpuBackend();
    const A = be.viewAlign;
    const live = be.liveBuffers;
    const p = be.alloc(4 * A, 'float32');
    const q = be.alloc(2 * A, 'float32');
    // views count nowhere: liveBuffers sees the two parents only
    const v1 = be.view(p, A, A);
    const v2 = be.view(p, 2 * A, 10);
    const v3 = be.view(p, 0, 7);
    expect(be.liveBuffers).toBe(live + 2);
    expect([v1.length, v1.dtype, v2.length, v3.length]).toEqual([A, 'float32', 10, 7]);

    const host = seq(4 * A, (i) => i);
    be.write(p, host);
    expect(await arr(be, v1)).toEqual(Array.from(host.subarray(A, 2 * A)));
    expect(Array.from(await be.read(v2, 3, 5))).toEqual(Array.from(host.subarray(2 * A + 3, 2 * A + 8)));
    // a read into the caller's array
    const out = new Float32Array(4);
    await be.read(v1, 1, 4, out);
    expect(Array.from(out)).toEqual(Array.from(host.subarray(A + 1, A + 5)));

    // write (direct, then staged behind recorded work), fill
    await be.sync();
    be.write(v1, [-1, -2, -3], 2);
    host.set([-1, -2, -3], A + 2);
    be.fill(q, 0);
    be.write(v2, [50, 51], 8);
    host.set([50, 51], 2 * A + 8);
    be.fill(v2, 9, 1, 3);
    host.fill(9, 2 * A + 1, 2 * A + 4);
    be.fill(v3, -7);
    host.fill(-7, 0, 7);
    expect(await arr(be, p)).toEqual(Array.from(host));

    // copies: between two views of one parent, parent → its own view (overlapping ranges), view ↔ other buffer
    be.copy(v1, 0, v2, 0, 6);
    host.copyWithin(2 * A, A, A + 6);
    be.copy(p, 3, v1, 1, 4);
    host.copyWithin(A + 1, 3, 7);
    be.copy(v2, 0, q, A + 2, 10);
    const hq = new Float32Array(2 * A);
    hq.set(host.subarray(2 * A, 2 * A + 10), A + 2);
    be.copy(q, A + 2, v3, 1, 6);
    host.set(hq.subarray(A + 2, A + 8), 1);
    expect(await arr(be, p)).toEqual(Array.from(host));
    expect(await arr(be, q)).toEqual(Array.from(hq));

    // the tfjs path of write (writeInPlace off) writes the parent's range too
    be.writeInPlace = false;
    try {
      be.write(v2, [100, 101], 4);
      host.set([100, 101], 2 * A + 4);
    } finally {
      be.writeInPlace = true;
    }
    expect(await arr(be, p)).toEqual(Array.from(host));

    // a view of a view is a view of the parent, offsets added
    const vv = be.view(be.view(p, A, 3 * A), A, 12);
    expect(await arr(be, vv)).toEqual(Array.from(host.subarray(2 * A, 2 * A + 12)));
    be.fill(vv, 4, 11, 1);
    host[2 * A + 11] = 4;
    expect(await arr(be, p)).toEqual(Array.from(host));

    // disposing a view does nothing: its parent stays, and so does the view
    be.dispose(v1);
    expect(be.liveBuffers).toBe(live + 2);
    expect(await arr(be, v1)).toEqual(Array.from(host.subarray(A, 2 * A)));
    await be.sync();
    be.dispose(p);
    be.dispose(q);
    expect(be.liveBuffers).toBe(live);
  });

  it('GEMM on views of one or two parents (and a parent with a view of itself) matches gemmHost', async () => {
    const be = await webgpuBackend();
    const A = be.viewAlign;
    const rng = new Rng(11);
    // [m, n, k, transA, transB, alpha, beta]; the last one takes the split-K path
    const shapes: [number, number, number, boolean, boolean, number, number][] = [
      [5, 7, 9, false, false, 1, 0],
      [9, 6, 13, true, true, 0.5, 1],
      [3, 4, 600, true, false, 1, 0.5],
    ];
    for (const [m, n, k, transA, transB, alpha, beta] of shapes) {
      const [ar, ac] = transA ? [k, m] : [m, k];
      const [br, bc] = transB ? [n, k] : [k, n];
      const lda = ac + 1;
      const ldb = bc + 2;
      const ldc = n + 3;
      const args = {
        transA,
        transB,
        m,
        n,
        k,
        alpha,
        beta,
        aOffset: 2,
        lda,
        bOffset: 1,
        ldb,
        cOffset: 3,
        ldc,
      };
      const aLen = 2 + (ar - 1) * lda + ac;
      const bLen = 1 + (br - 1) * ldb + bc;
      const cLen = 3 + (m - 1) * ldc + n + 1;
      const round = (x: number) => Math.ceil(x / A) * A;
      const [aAt, bAt, cAt] = [A, A + round(aLen), A + round(aLen) + round(bLen)];
      const total = cAt + round(cLen) + A;
      for (const layout of ['one parent', 'two parents', 'parent and its view'] as const) {
        const host = randn(rng, total);
        const p = be.alloc(total, 'float32');
        be.write(p, host);
        const p2 = layout === 'two parents' ? be.alloc(total, 'float32') : p;
        if (p2 !== p) be.write(p2, host);
        let g: GemmArgs;
        if (layout === 'parent and its view') {
          // A and B read through the parent itself (offsets added), C a view of the same parent
          g = {
            ...args,
            a: p,
            aOffset: aAt + 2,
            b: p,
            bOffset: bAt + 1,
            c: be.view(p, cAt, cLen),
          };
        } else {
          g = {
            ...args,
            a: be.view(p, aAt, aLen),
            b: be.view(p, bAt, bLen),
            c: be.view(p2, cAt, cLen),
          };
        }
        be.gemm(g);
        const want = Float64Array.from(host);
        gemmHost({
          ...args,
          a: want,
          aOffset: aAt + 2,
          b: want,
          bOffset: bAt + 1,
          c: want,
          cOffset: cAt + 3,
        });
        const got = await be.read(p2);
        const what = `${layout}: ${m}×${n}×${k}`;
        expect(maxRelErr(got, want), what).toBeLessThan(1e-5 * Math.sqrt(k + 1));
        // nothing outside C's block changed (bit for bit)
        const inC = (i: number) => {
          const j = i - cAt - 3;
          return j >= 0 && Math.floor(j / ldc) < m && j % ldc < n;
        };
        for (let i = 0; i < total; i++) if (!inC(i)) expect(got[i], `${what} at ${i}`).toBe(host[i]);
        await be.sync();
        be.dispose(p);
        if (p2 !== p) be.dispose(p2);
      }
    }
  });

  it('binds two views of one parent in one dispatch: reads one, writes the other', async () => {
    const be = await webgpuBackend();
    const A = be.viewAlign;
    const p = be.alloc(3 * A, 'float32');
    const host = seq(3 * A, (i) => Math.sin(i));
    be.write(p, host);
    const pred = be.view(p, 0, 20);
    const target = be.view(p, A, 20);
    const grad = be.view(p, 2 * A, 20);
    // mse with count 2: grad = pred − target
    be.lossGradient({ kind: 'mse', pred, target, grad, n: 20, count: 2 });
    for (let i = 0; i < 20; i++) host[2 * A + i] = Math.fround(host[i] - host[A + i]);
    const got = await be.read(p);
    expect(maxRelErr(got, host)).toBeLessThan(1e-6);
    expect(Array.from(await be.read(pred))).toEqual(Array.from(host.subarray(0, 20)));
    await be.sync();
    be.dispose(p);
  });

  it('a bind group is cached per bound range: the same dispatch on two views of one parent', async () => {
    const be = await webgpuBackend();
    const A = be.viewAlign;
    const runner = wgslRunner();
    const p = be.alloc(2 * A, 'float32');
    const [v1, v2] = [be.view(p, 0, A), be.view(p, A, A)];
    const hits = runner.bindCache.hits;
    // the same kernel, uniforms and GPU buffer: only the ranges differ (a group cached for v1
    // and reused for v2 would fill v1 again)
    // a group is kept from its second use and hit from its third: one hit per view (a cache that
    // ignored the ranges would hit v1's group on all three fills of v2)
    for (let i = 0; i < 3; i++) be.fill(v1, 5);
    expect(runner.bindCache.hits).toBe(hits + 1);
    for (let i = 0; i < 3; i++) be.fill(v2, 5, 0, A);
    expect(runner.bindCache.hits).toBe(hits + 2);
    expect(Array.from(await be.read(p))).toEqual(Array(2 * A).fill(5));
    await be.sync();
    be.dispose(p);
  });

  it('Adam on views (per parameter and once on the whole buffers) equals Adam on plain buffers', async () => {
    const be = await webgpuBackend();
    const A = be.viewAlign;
    const rng = new Rng(4);
    const lengths = [70, 5, 2 * A + 3];
    const offsets: number[] = [];
    let end = 0;
    for (const len of lengths) {
      offsets.push(end);
      end = Math.ceil((end + len) / A) * A;
    }
    const hyper = { lr: 0.01, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01 };
    const init = lengths.map((n) => ({ param: randn(rng, n), grads: [1, 2, 3].map(() => randn(rng, n)) }));
    const names = ['param', 'grad', 'm', 'v'] as const;
    // plain buffers, one Adam each
    const plain = init.map((t) =>
      Object.fromEntries(names.map((k) => [k, be.alloc(t.param.length, 'float32')])),
    );
    // arena: one parent per kind, every tensor a view
    const parents = Object.fromEntries(names.map((k) => [k, be.alloc(end, 'float32')]));
    const views = lengths.map((n, i) =>
      Object.fromEntries(names.map((k) => [k, be.view(parents[k], offsets[i], n)])),
    );
    const host = init.map((t) => ({
      param: Float32Array.from(t.param),
      grad: new Float32Array(t.param.length),
      m: new Float32Array(t.param.length),
      v: new Float32Array(t.param.length),
    }));
    init.forEach((t, i) => {
      be.write(plain[i].param, t.param);
      be.write(views[i].param, t.param);
    });
    for (let step = 1; step <= 3; step++) {
      init.forEach((t, i) => {
        be.write(plain[i].grad, t.grads[step - 1]);
        be.write(views[i].grad, t.grads[step - 1]);
        host[i].grad.set(t.grads[step - 1]);
        adamHost({ ...host[i], ...hyper, step });
        be.adam({ param: plain[i].param, grad: plain[i].grad, m: plain[i].m, v: plain[i].v, ...hyper, step });
      });
      // step 2 per view, steps 1 and 3 once over the whole parents (padding stays zero)
      if (step === 2) {
        for (const v of views) be.adam({ param: v.param, grad: v.grad, m: v.m, v: v.v, ...hyper, step });
      } else {
        be.adam({ param: parents.param, grad: parents.grad, m: parents.m, v: parents.v, ...hyper, step });
      }
    }
    for (let i = 0; i < lengths.length; i++) {
      for (const k of ['param', 'm', 'v'] as const) {
        const a = await be.read(plain[i][k]);
        expect(await be.read(views[i][k]), `${k} ${i}`).toEqual(a);
        expect(maxRelErr(a, host[i][k]), `${k} ${i} vs host`).toBeLessThan(1e-6);
      }
    }
    // the padding between views stays zero (the whole-parent steps update it with zero gradients)
    const whole = await be.read(parents.param);
    for (let i = 0; i < lengths.length; i++) {
      const gapEnd = i + 1 < lengths.length ? offsets[i + 1] : end;
      for (let j = offsets[i] + lengths[i]; j < gapEnd; j++) expect(whole[j]).toBe(0);
    }
    await be.sync();
    for (const t of plain) for (const b of Object.values(t)) be.dispose(b);
    for (const b of Object.values(parents)) be.dispose(b);
  });

  it('refuses bad views with clear errors, and a view used after its parent was disposed', async () => {
    const be = await webgpuBackend();
    const A = be.viewAlign;
    const p = be.alloc(2 * A, 'float32');
    if (A > 1)
      expect(() => be.view(p, 1, 4)).toThrow(
        `a view's offset must be a multiple of ${A} elements on this backend, got 1`,
      );
    expect(() => be.view(p, A, A + 1)).toThrow(RangeError);
    expect(() => be.view(p, A, A + 1)).toThrow(/overruns a buffer of/);
    expect(() => be.view(p, 0, 0)).toThrow("a view's length must be a whole number > 0, got 0");
    expect(() => be.view(p, -A, 4)).toThrow(`a view's offset must be a whole number >= 0, got ${-A}`);
    expect(() => be.view(p, 0.5, 4)).toThrow("a view's offset must be a whole number >= 0, got 0.5");
    const v = be.view(p, A, A);
    // a view of a view is bounded by the view, not the parent
    expect(() => be.view(v, 0, A + 1)).toThrow(/overruns a buffer of/);
    expect(() => be.write(v, [1, 2], A - 1)).toThrow(/overruns/);
    await expect(be.read(v, 2, A)).rejects.toThrow(/overruns/);
    expect(() => be.fill(v, 0, A - 2, 3)).toThrow(RangeError);
    expect(() => be.copy(v, 0, p, 0, A + 1)).toThrow(RangeError);
    // the generic tfjs methods never see a view
    expect(() => TfjsBackend.prototype.fill.call(be, v, 1)).toThrow(/cannot use a view/);
    // another backend's buffer, and another backend's view
    const other = new WebgpuTfjsBackend('tfjs-webgpu-other');
    const o = other.alloc(A, 'float32');
    expect(() => be.view(o, 0, 4)).toThrow(/belongs to backend 'tfjs-webgpu-other'/);
    expect(() => be.fill(other.view(o, 0, 4), 1)).toThrow(/belongs to backend 'tfjs-webgpu-other'/);
    other.dispose(o);

    const q = be.alloc(A, 'float32');
    be.dispose(p);
    const gone = /used after its parent buffer was disposed/;
    await expect(be.read(v)).rejects.toThrow(gone);
    expect(() => be.write(v, [1])).toThrow(gone);
    expect(() => be.fill(v, 1)).toThrow(gone);
    expect(() => be.copy(q, 0, v, 0, 4)).toThrow(gone);
    expect(() => be.view(v, 0, 4)).toThrow(gone);
    expect(() => be.lossGradient({ kind: 'mse', pred: q, target: q, grad: v, n: 4, count: 4 })).toThrow(gone);
    expect(() =>
      be.gemm({
        transA: false,
        transB: false,
        m: 1,
        n: 1,
        k: 1,
        alpha: 1,
        beta: 0,
        a: q,
        aOffset: 0,
        lda: 1,
        b: q,
        bOffset: 0,
        ldb: 1,
        c: v,
        cOffset: 0,
        ldc: 1,
      }),
    ).toThrow(gone);
    // disposing it still does nothing
    expect(() => be.dispose(v)).not.toThrow();
    be.dispose(q);
    await be.sync();
  });

  it('runner: whole roles share the parent binding and index with elementOffset; ranges that cannot bind throw', async () => {
    const be = await webgpuBackend();
    const A = be.viewAlign;
    const runner = wgslRunner();
    const p = be.alloc(3 * A, 'float32');
    const host = seq(3 * A, (i) => i * 0.5);
    be.write(p, host);
    const x = be.view(p, A, 10);
    const y = be.view(p, 2 * A, 10);
    expect([runner.elementOffset(x), runner.elementOffset(y), runner.elementOffset(p)]).toEqual([
      A,
      2 * A,
      0,
    ]);
    expect(runner.elementOffset(runner.scratch('views-test', 4))).toBe(0);
    let names: Readonly<Record<string, string>> = {};
    // y = 2·x + z[0] with x, y views bound whole (one binding of p) and z = p itself (the same binding)
    runner.run({
      key: 'views-test/whole',
      roles: [
        { name: 'x', buf: x, write: false, whole: true },
        { name: 'y', buf: y, write: true, whole: true },
        { name: 'z', buf: p, write: false, whole: true },
      ],
      uniforms: [
        { name: 'n', type: 'u32', value: 10 },
        { name: 'xOff', type: 'u32', value: runner.elementOffset(x) },
        { name: 'yOff', type: 'u32', value: runner.elementOffset(y) },
      ],
      workgroups: flatGroups(10),
      code: (v) => {
        names = v;
        return flatEntry(`  ${v.y}[u.yOff + idx] = 2.0 * ${v.x}[u.xOff + idx] + ${v.z}[1];`);
      },
    });
    expect(names.x).toBe(names.y);
    expect(names.z).toBe(names.x);
    for (let i = 0; i < 10; i++) host[2 * A + i] = 2 * host[A + i] + host[1];
    expect(Array.from(await be.read(p))).toEqual(Array.from(host));

    // a view from offset 0 that is not whole shares the parent's binding when the parent is written
    const head = be.view(p, 0, 10);
    runner.run({
      key: 'views-test/head',
      roles: [
        { name: 'h', buf: head, write: false },
        { name: 'w', buf: p, write: true },
      ],
      uniforms: [{ name: 'n', type: 'u32', value: 10 }],
      workgroups: flatGroups(10),
      code: (v) => {
        names = v;
        return flatEntry(`  ${v.w}[idx + 20u] = ${v.h}[idx] + 1.0;`);
      },
    });
    expect(names.h).toBe(names.w);
    for (let i = 0; i < 10; i++) host[20 + i] = host[i] + 1;
    expect(Array.from(await be.read(p))).toEqual(Array.from(host));

    // the parent written and a view of it from another offset read: no binding can serve both
    expect(() =>
      runner.run({
        key: 'views-test/clash',
        roles: [
          { name: 'r', buf: x, write: false },
          { name: 'w', buf: p, write: true },
        ],
        uniforms: [{ name: 'n', type: 'u32', value: 10 }],
        workgroups: 1,
        code: (v) => flatEntry(`  ${v.w}[idx] = ${v.r}[idx];`),
      }),
    ).toThrow(/internal: kernel views-test\/clash binds overlapping ranges of one GPU buffer and writes it/);

    // runner.copy adds views' offsets: within one parent (a dispatch) and to another buffer
    runner.copy(x, 2, y, 5, 4);
    host.copyWithin(2 * A + 5, A + 2, A + 6);
    const q = be.alloc(A, 'float32');
    runner.copy(y, 1, q, 3, 6);
    const hq = new Float32Array(A);
    hq.set(host.subarray(2 * A + 1, 2 * A + 7), 3);
    runner.copy(q, 3, x, 0, 6);
    host.set(hq.subarray(3, 9), A);
    expect(Array.from(await be.read(p))).toEqual(Array.from(host));
    expect(Array.from(await be.read(q))).toEqual(Array.from(hq));
    await be.sync();
    be.dispose(p);
    be.dispose(q);
  });
});
