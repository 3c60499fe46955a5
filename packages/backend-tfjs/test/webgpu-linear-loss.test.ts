import { type DeviceBuffer, type LinearLossArgs, Rng } from '@bistable/core';
import { describe, expect, it } from 'vitest';
import { type WebgpuTfjsBackend, wgslRunner } from '../src/webgpu/index.js';
import { webgpuLinearLoss } from '../src/webgpu/loss-kernel.js';
import { logSkip, probe, webgpuBackend } from './webgpu-setup.js';

/**
 * The fused readout + loss gradient kernel (webgpuLinearLoss) against float64 host math: y = x·wᵀ
 * + b, dy = the loss gradient on y, dx = dy·w, in one dispatch. Needs a WebGPU adapter (lavapipe
 * in CI); skipped with the reason otherwise.
 */
logSkip('linear-loss tests');

type Kind = 'mse' | 'bce';

interface Case {
  kind: Kind;
  N: number;
  F: number;
  O: number;
  xOffset: number;
  count: number;
}

/** Inputs rounded to float32 (what the device holds), so the host truth sees the same values. */
function inputs(c: Case, seed: number) {
  const rng = new Rng(seed);
  const f32 = (n: number, scale: number, f: () => number = () => rng.normal() * scale) =>
    Float32Array.from({ length: n }, f);
  const x = f32(c.xOffset + c.N * c.F + 3, 1);
  const w = f32(c.O * c.F, 1 / Math.sqrt(Math.max(1, c.F)));
  const b = f32(c.O, 0.5);
  const target =
    c.kind === 'bce' ? f32(c.N * c.O, 0, () => (rng.uniform() < 0.5 ? 0 : 1)) : f32(c.N * c.O, 1);
  return { x, w, b, target };
}

/** float64 truth: the formulas of core's mseLoss / bceWithLogitsLoss gradients. */
function host(c: Case, inp: ReturnType<typeof inputs>) {
  const { N, F, O } = c;
  const y = new Float64Array(N * O);
  const dy = new Float64Array(N * O);
  const dx = new Float64Array(N * F);
  for (let n = 0; n < N; n++) {
    for (let o = 0; o < O; o++) {
      let s = inp.b[o];
      for (let f = 0; f < F; f++) s += inp.x[c.xOffset + n * F + f] * inp.w[o * F + f];
      const k = n * O + o;
      y[k] = s;
      dy[k] =
        c.kind === 'mse'
          ? (2 * (s - inp.target[k])) / c.count
          : (1 / (1 + Math.exp(-s)) - inp.target[k]) / c.count;
    }
    for (let f = 0; f < F; f++) {
      let s = 0;
      for (let o = 0; o < O; o++) s += dy[n * O + o] * inp.w[o * F + f];
      dx[n * F + f] = s;
    }
  }
  return { y, dy, dx };
}

/** Worst |got − want| over max(1, |want|), after multiplying both by `scale`. */
function worst(got: ArrayLike<number>, want: ArrayLike<number>, scale = 1): number {
  expect(got.length).toBe(want.length);
  let w = 0;
  for (let i = 0; i < want.length; i++) {
    const e = (Math.abs(got[i] - want[i]) * scale) / Math.max(1, Math.abs(want[i] * scale));
    if (!(e <= w)) w = Number.isNaN(e) ? Number.POSITIVE_INFINITY : e;
  }
  return w;
}

function upload(be: WebgpuTfjsBackend, data: Float32Array): DeviceBuffer {
  const buf = be.alloc(data.length, 'float32');
  be.write(buf, data);
  return buf;
}

async function check(
  c: Case,
  seed: number,
  operands?: (inp: ReturnType<typeof inputs>) => Partial<LinearLossArgs>,
) {
  const be = await webgpuBackend();
  const inp = inputs(c, seed);
  const want = host(c, inp);
  // outputs start as garbage: the kernel must overwrite every element
  const junk = (n: number) =>
    upload(
      be,
      Float32Array.from({ length: n }, () => Number.NaN),
    );
  const args: LinearLossArgs = {
    kind: c.kind,
    N: c.N,
    F: c.F,
    O: c.O,
    x: upload(be, inp.x),
    xOffset: c.xOffset,
    w: upload(be, inp.w),
    b: upload(be, inp.b),
    target: upload(be, inp.target),
    y: junk(c.N * c.O),
    dy: junk(c.N * c.O),
    dx: junk(c.N * c.F),
    count: c.count,
    ...operands?.(inp),
  };
  const runner = wgslRunner();
  const before = runner.stats.dispatches;
  const total = be.counters().dispatches;
  webgpuLinearLoss(args);
  expect(runner.stats.dispatches - before).toBe(1);
  expect(be.counters().dispatches - total).toBe(1);
  const [y, dy, dx] = [await be.read(args.y), await be.read(args.dy), await be.read(args.dx)];
  await be.sync();
  const tol = 1e-5;
  expect(worst(y, want.y), `y ${JSON.stringify(c)}`).toBeLessThan(tol);
  // dy and dx carry the 1/count of the mean: compare them at the scale of one element's loss
  expect(worst(dy, want.dy, c.count), 'dy').toBeLessThan(tol);
  expect(worst(dx, want.dx, c.count), 'dx').toBeLessThan(tol);
  for (const buf of [args.x, args.w, args.b, args.target, args.y, args.dy, args.dx]) be.dispose(buf);
}

describe.skipIf(!probe.ok)('tfjs-webgpu: fused linear readout + loss gradient', () => {
  let seed = 1;
  for (const kind of ['mse', 'bce'] as const) {
    for (const N of [1, 5, 100]) {
      for (const F of [1, 16, 200]) {
        for (const O of [1, 3]) {
          const c: Case = { kind, N, F, O, xOffset: 7 + F, count: N * O + 2 };
          const s = seed++;
          it(`${kind} N=${N} F=${F} O=${O} xOffset=${c.xOffset}`, async () => {
            await check(c, s);
          });
        }
      }
    }
  }

  it('many outputs (O above one pass of the workgroup) and a wide row (F = 2048)', async () => {
    await check({ kind: 'bce', N: 3, F: 2048, O: 2, xOffset: 11, count: 6 }, 102);
    await check({ kind: 'mse', N: 2, F: 300, O: 16, xOffset: 0, count: 34 }, 103);
    await check({ kind: 'mse', N: 2, F: 300, O: 17, xOffset: 0, count: 34 }, 103);
    await check({ kind: 'mse', N: 4, F: 37, O: 40, xOffset: 3, count: 160 }, 101);
  });

  it('F = 0 gives y = b and O = 0 gives dx = 0', async () => {
    await check({ kind: 'mse', N: 3, F: 0, O: 2, xOffset: 0, count: 6 }, 104);
    await check({ kind: 'bce', N: 3, F: 5, O: 0, xOffset: 2, count: 1 }, 105);
  });

  it('reads w and b from views of one parameter buffer', async () => {
    const be = await webgpuBackend();
    const view = (b: DeviceBuffer, o: number, n: number) => be.view(b, o, n);
    const align = be.viewAlign;
    const c: Case = { kind: 'mse', N: 6, F: 24, O: 3, xOffset: 5, count: 18 };
    await check(c, 106, (inp) => {
      const bAt = Math.ceil((inp.w.length + 1) / align) * align;
      const params = new Float32Array(bAt + inp.b.length + 4).fill(Number.NaN);
      params.set(inp.w, 0);
      params.set(inp.b, bAt);
      const whole = upload(be, params);
      return { w: view(whole, 0, inp.w.length), b: view(whole, bAt, inp.b.length) };
    });
  });

  it('leaves nothing to do for N = 0 (no dispatch)', async () => {
    const be = await webgpuBackend();
    const buf = be.alloc(4, 'float32');
    const [y, dy, dx] = [be.alloc(1, 'float32'), be.alloc(1, 'float32'), be.alloc(1, 'float32')];
    const before = wgslRunner().stats.dispatches;
    webgpuLinearLoss({
      kind: 'mse',
      N: 0,
      F: 2,
      O: 2,
      x: buf,
      xOffset: 0,
      w: buf,
      b: buf,
      target: buf,
      y,
      dy,
      dx,
      count: 1,
    });
    expect(wgslRunner().stats.dispatches).toBe(before);
  });

  it('refuses short buffers, bad sizes and aliased outputs with RangeErrors, dispatching nothing', async () => {
    const be = await webgpuBackend();
    const [N, F, O, xOffset] = [3, 4, 2, 5];
    const a = (n: number) => be.alloc(n, 'float32');
    const ok = (): LinearLossArgs => ({
      kind: 'bce',
      N,
      F,
      O,
      x: a(xOffset + N * F),
      xOffset,
      w: a(O * F),
      b: a(O),
      target: a(N * O),
      y: a(N * O),
      dy: a(N * O),
      dx: a(N * F),
      count: N * O,
    });
    const cases: [Partial<LinearLossArgs>, RegExp][] = [
      [{ x: a(xOffset + N * F - 1) }, /x holds 16 values, needs 17/],
      [{ xOffset: xOffset + 1 }, /x holds 17 values, needs 18/],
      [{ w: a(O * F - 1) }, /w holds 7 values, needs 8/],
      [{ b: a(O - 1) }, /b holds 1 values, needs 2/],
      [{ target: a(N * O - 1) }, /target holds 5 values, needs 6/],
      [{ y: a(N * O - 1) }, /y holds 5 values, needs 6/],
      [{ dy: a(N * O - 1) }, /dy holds 5 values, needs 6/],
      [{ dx: a(N * F - 1) }, /dx holds 11 values, needs 12/],
      [{ N: -1 }, /N must be a whole number/],
      [{ F: 1.5 }, /F must be a whole number/],
      [{ xOffset: Number.NaN }, /xOffset must be a whole number/],
      [{ count: 0 }, /count must be positive/],
    ];
    const base = ok();
    // allocating dispatches a fill: count only the kernel's own dispatches
    const before = wgslRunner().stats.dispatches;
    for (const [change, msg] of cases) {
      expect(() => webgpuLinearLoss({ ...base, ...change })).toThrow(RangeError);
      expect(() => webgpuLinearLoss({ ...base, ...change })).toThrow(msg);
    }
    expect(() => webgpuLinearLoss({ ...base, dy: base.y })).toThrow(/no aliasing/);
    expect(() => webgpuLinearLoss({ ...base, dx: base.x })).toThrow(/no aliasing/);
    expect(wgslRunner().stats.dispatches).toBe(before);
    // and the same arguments unchanged are accepted
    webgpuLinearLoss(base);
    expect(wgslRunner().stats.dispatches).toBe(before + 1);
    await be.sync();
  });
});

describe.skipIf(!probe.ok)('tfjs-webgpu: linearLossMany', () => {
  it("runs members' readouts at a fixed stride in one dispatch, each equal to its own linearLoss; others one by one", async () => {
    const be = await webgpuBackend();
    const c: Case = { kind: 'bce', N: 5, F: 7, O: 3, xOffset: 4, count: 15 };
    const M = 3;
    const align = be.viewAlign ?? 1;
    const stride = (n: number) => Math.ceil(n / align) * align;
    const sizes = {
      x: c.xOffset + c.N * c.F + 3,
      w: c.O * c.F,
      b: c.O,
      target: c.N * c.O,
      y: c.N * c.O,
      dy: c.N * c.O,
      dx: c.N * c.F,
    };
    // each operand of the members in one parent at a fixed stride, as an Ensemble lays them out
    const parents = Object.fromEntries(
      Object.entries(sizes).map(([k, n]) => [k, be.alloc(M * stride(n), 'float32')]),
    ) as Record<keyof typeof sizes, DeviceBuffer>;
    const views = (m: number) =>
      Object.fromEntries(
        Object.entries(sizes).map(([k, n]) => [
          k,
          be.view(parents[k as keyof typeof sizes], m * stride(n), n),
        ]),
      ) as Record<keyof typeof sizes, DeviceBuffer>;
    const members = Array.from({ length: M }, (_, m) => {
      const v = views(m);
      const inp = inputs(c, 40 + m);
      for (const k of ['x', 'w', 'b', 'target'] as const) be.write(v[k], inp[k]);
      return { ...c, x: v.x, w: v.w, b: v.b, target: v.target, y: v.y, dy: v.dy, dx: v.dx } as LinearLossArgs;
    });
    const read = async (a: LinearLossArgs) =>
      Promise.all([a.y, a.dy, a.dx].map(async (b) => Array.from(await be.read(b))));
    const runner = wgslRunner();
    // one by one first, for the expected values
    for (const a of members) webgpuLinearLoss(a);
    const want = await Promise.all(members.map(read));
    for (const a of members) for (const b of [a.y, a.dy, a.dx]) be.fill(b, 0);
    await runner.sync();
    const d0 = runner.stats.dispatches;
    be.linearLossMany(members);
    expect(runner.stats.dispatches - d0).toBe(1);
    expect(await Promise.all(members.map(read))).toEqual(want);
    // members 0 and 2 (twice the stride) still make a run; a member with other sizes runs alone
    const odd = { ...members[1], N: 4, count: 12 };
    for (const a of members) for (const b of [a.y, a.dy, a.dx]) be.fill(b, 0);
    await runner.sync();
    const d1 = runner.stats.dispatches;
    be.linearLossMany([members[0], members[2]]);
    be.linearLossMany([members[0], odd, members[2]]);
    expect(runner.stats.dispatches - d1).toBe(1 + 3);
    expect(await read(members[0])).toEqual(want[0]);
    expect(await read(members[2])).toEqual(want[2]);
    // the odd member ran as its own linearLoss does (its 4 rows; the rest of its buffers untouched)
    const oddGot = await read(odd);
    for (const b of [odd.y, odd.dy, odd.dx]) be.fill(b, 0);
    webgpuLinearLoss(odd);
    expect(oddGot).toEqual(await read(odd));
    for (const p of Object.values(parents)) be.dispose(p);
  });
});
