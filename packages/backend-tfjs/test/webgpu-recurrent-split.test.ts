import {
  CELL_NAMES,
  type CellSpec,
  cellSpec,
  type DeviceBuffer,
  InputError,
  Rng,
  type SequenceForwardArgs,
} from '@bistable/core';
import { STEP_KIT_CELL, sequenceBackward, sequenceForward, worstError } from '@bistable/core/testing';
import { afterAll, describe, expect, it, vi } from 'vitest';
import {
  type RecurrentSplit,
  setRecurrentSplit,
  setRecurrentSubgroups,
  wgslRunner,
} from '../src/webgpu/index.js';
import { webgpuSequenceKernels } from '../src/webgpu/sequence-kernels.js';
import {
  isSplit,
  isSubgroupPlan,
  type PlanLimits,
  planKey,
  recurrentPlan,
  recurrentSubgroups,
  rowPlan,
  type SplitPlan,
} from '../src/webgpu/sequence-recurrent.js';
import { backwardArgs, randomGrads, randomSequence } from './sequence-case.js';
import { logSkip, probe, webgpuBackend } from './webgpu-setup.js';

/**
 * The opt-in split of each unit's recurrent product over S threads (setRecurrentSplit,
 * BISTABLE_WEBGPU_SPLIT): the plans it makes, and on a WebGPU adapter (lavapipe in CI) the
 * whole-sequence forward and backward of every cell with S = 2, 4 and 8 against today's kernels
 * (S = 1; sums reassociate, so float32 rounding apart) and against core's float64 host oracle.
 */
logSkip('recurrent-split tests');

afterAll(() => {
  setRecurrentSplit(null);
  setRecurrentSubgroups(null);
});

// ------------------------------------------------------------------------------- plans, no device

describe('recurrentPlan', () => {
  const big: PlanLimits = { storageBytes: 32768, maxThreads: 1024 };

  it('S = 1 is rowPlan itself (the pipeline keys of today)', () => {
    for (const H of [1, 7, 64, 65, 100, 256, 300]) {
      const p = recurrentPlan(H, 3, 1, big);
      expect(p).toEqual(rowPlan(H, 3, big.storageBytes));
      expect(isSplit(p)).toBe(false);
      expect(planKey(p)).toBe(`${p.wg}x${p.nu}`);
    }
  });

  it('a split plan gives every unit S threads in whole workgroups of 64 up to the limit', () => {
    for (const H of [2, 7, 12, 33, 100, 128]) {
      for (const S of [2, 4, 8] as const) {
        const p = recurrentPlan(H, 2, S, big) as SplitPlan;
        const want = Math.min(S, 2 ** Math.floor(Math.log2(H)));
        expect(p.S, `H ${H}, S ${S}`).toBe(want);
        expect(p.wg % 64).toBe(0);
        expect(p.wg).toBe(Math.max(64, 2 ** Math.ceil(Math.log2(H * want))));
        const U = p.wg / p.S;
        expect(p.nuS).toBe(1);
        expect(p.cap).toBe(U);
        expect(p.cap).toBeGreaterThanOrEqual(H);
        expect(p.nu * p.wg).toBeGreaterThanOrEqual(p.cap);
        expect(planKey(p)).toBe(`${p.wg}x${p.nu}s${p.S}x1`);
      }
    }
  });

  it('beyond the workgroup limit threads take several units; S = 1 where H is 1', () => {
    const p = recurrentPlan(300, 1, 4, { storageBytes: 32768, maxThreads: 256 }) as SplitPlan;
    expect(p).toEqual({ wg: 256, nu: 2, S: 4, nuS: 5, cap: 320 });
    const q = recurrentPlan(1100, 1, 2, big) as SplitPlan;
    expect(q).toEqual({ wg: 1024, nu: 2, S: 2, nuS: 3, cap: 1536 });
    expect(isSplit(recurrentPlan(1, 1, 8, big))).toBe(false);
    // a device that reports more threads than 1024 still gets 1024 at most
    expect(recurrentPlan(200, 1, 8, { storageBytes: 1 << 20, maxThreads: 4096 }).wg).toBe(1024);
  });

  it("'auto' takes the largest S whose H·S threads fit one workgroup", () => {
    expect((recurrentPlan(100, 3, 'auto', big) as SplitPlan).S).toBe(8);
    expect((recurrentPlan(100, 3, 'auto', { storageBytes: 32768, maxThreads: 256 }) as SplitPlan).S).toBe(2);
    expect((recurrentPlan(200, 1, 'auto', big) as SplitPlan).S).toBe(4);
    expect(isSplit(recurrentPlan(200, 1, 'auto', { storageBytes: 32768, maxThreads: 256 }))).toBe(false);
    expect((recurrentPlan(5, 4, 'auto', big) as SplitPlan).S).toBe(4);
  });

  it('halves S while the workgroup memory would exceed the device, down to rowPlan', () => {
    // gr 4, H 100, S 8: 128-unit arrays, 2·128 + 4·8·128 floats = 17 KiB forward
    const full = recurrentPlan(100, 4, 8, big) as SplitPlan;
    expect(full.S).toBe(8);
    const small = recurrentPlan(100, 4, 8, { storageBytes: 16384, maxThreads: 1024 }) as SplitPlan;
    expect(small.S).toBe(4);
    expect(recurrentPlan(100, 4, 8, { storageBytes: 4096, maxThreads: 1024 })).toEqual(rowPlan(100, 4, 4096));
    expect(() => recurrentPlan(1000, 4, 2, { storageBytes: 4096, maxThreads: 1024 })).toThrow(InputError);
  });

  it('reduces in subgroups where they hold S lanes: one unit list per thread, no partial-sum arrays', () => {
    const sub = { ...big, subgroupSize: 8 };
    for (const [H, S, gr] of [
      [7, 4, 3],
      [100, 8, 3],
      [1100, 2, 1],
    ] as const) {
      const p = recurrentPlan(H, gr, S, sub) as SplitPlan;
      const w = recurrentPlan(H, gr, S, big) as SplitPlan;
      expect(isSubgroupPlan(p), `H ${H}`).toBe(true);
      expect(isSubgroupPlan(w)).toBe(false);
      // the same threads and units; each thread's pointwise units are its product units
      expect([p.wg, p.S, p.nuS, p.cap]).toEqual([w.wg, w.S, w.nuS, w.cap]);
      expect(p.nu).toBe(p.nuS);
      expect(planKey(p)).toBe(`${p.wg}x${p.nu}s${p.S}x${p.nuS}g`);
    }
    // subgroups of 4 hold S = 4 but not 8: S = 8 reduces through workgroup memory
    expect(isSubgroupPlan(recurrentPlan(100, 3, 4, { ...big, subgroupSize: 4 }))).toBe(true);
    expect(isSubgroupPlan(recurrentPlan(100, 3, 8, { ...big, subgroupSize: 4 }))).toBe(false);
    // without the partial sums, gr 4, H 100, S 8 fits 4 KiB (2·4·128 floats), where the workgroup split cannot
    const tight = { storageBytes: 4096, maxThreads: 1024 };
    expect(recurrentPlan(100, 4, 8, { ...tight, subgroupSize: 8 })).toMatchObject({ S: 8, sub: true });
    expect(isSplit(recurrentPlan(100, 4, 8, tight))).toBe(false);
  });
});

describe('the subgroup setting', () => {
  it('setRecurrentSubgroups takes true, false or null; BISTABLE_WEBGPU_SUBGROUPS=0 turns them off', async () => {
    expect(() => setRecurrentSubgroups('yes' as unknown as boolean)).toThrow(InputError);
    try {
      for (const [raw, want] of [
        [undefined, true],
        ['1', true],
        [' 0 ', false],
      ] as const) {
        if (raw === undefined) vi.unstubAllEnvs();
        else vi.stubEnv('BISTABLE_WEBGPU_SUBGROUPS', raw);
        vi.resetModules();
        const m = await import('../src/webgpu/sequence-recurrent.js');
        expect(m.recurrentSubgroups(), String(raw)).toBe(want);
        m.setRecurrentSubgroups(!want);
        expect(m.recurrentSubgroups()).toBe(!want);
        m.setRecurrentSubgroups(null);
        expect(m.recurrentSubgroups()).toBe(want);
      }
      vi.stubEnv('BISTABLE_WEBGPU_SUBGROUPS', 'on');
      vi.resetModules();
      const bad = await import('../src/webgpu/sequence-recurrent.js');
      expect(() => bad.recurrentSubgroups()).toThrow(/BISTABLE_WEBGPU_SUBGROUPS=on: expected 0 or 1/);
    } finally {
      vi.unstubAllEnvs();
      vi.resetModules();
    }
  });
});

describe('the split setting', () => {
  it('setRecurrentSplit takes 1, 2, 4, 8 and auto only', () => {
    for (const s of [1, 2, 4, 8, 'auto'] as const) expect(() => setRecurrentSplit(s)).not.toThrow();
    expect(() => setRecurrentSplit(3 as RecurrentSplit)).toThrow(InputError);
    expect(() => setRecurrentSplit('fast' as RecurrentSplit)).toThrow(InputError);
    setRecurrentSplit(null);
  });

  it('BISTABLE_WEBGPU_SPLIT is read once, and setRecurrentSplit overrides it', async () => {
    try {
      vi.stubEnv('BISTABLE_WEBGPU_SPLIT', ' 4 ');
      vi.resetModules();
      const m = await import('../src/webgpu/sequence-recurrent.js');
      expect(m.recurrentSplit()).toBe(4);
      vi.stubEnv('BISTABLE_WEBGPU_SPLIT', '2');
      expect(m.recurrentSplit()).toBe(4);
      m.setRecurrentSplit(1);
      expect(m.recurrentSplit()).toBe(1);
      m.setRecurrentSplit(null);
      expect(m.recurrentSplit()).toBe(4);

      vi.stubEnv('BISTABLE_WEBGPU_SPLIT', 'AUTO');
      vi.resetModules();
      expect((await import('../src/webgpu/sequence-recurrent.js')).recurrentSplit()).toBe('auto');

      vi.stubEnv('BISTABLE_WEBGPU_SPLIT', '');
      vi.resetModules();
      expect((await import('../src/webgpu/sequence-recurrent.js')).recurrentSplit()).toBe(1);

      vi.stubEnv('BISTABLE_WEBGPU_SPLIT', 'three');
      vi.resetModules();
      const bad = await import('../src/webgpu/sequence-recurrent.js');
      expect(() => bad.recurrentSplit()).toThrow(/BISTABLE_WEBGPU_SPLIT=three: expected 1, 2, 4, 8 or auto/);
    } finally {
      vi.unstubAllEnvs();
      vi.resetModules();
    }
  });
});

// ------------------------------------------------------------------------------------ device side

/** What one forward and backward produced, by output name, and the kernel keys it ran. */
interface Run {
  out: Record<string, Float64Array>;
  keys: string[];
}

/**
 * A forward (zeroState) and a backward of `spec` on T steps, B rows, H units under the split in
 * force, with gradients on the outputs and (`withN`) the final states. Returns the outputs, the
 * host oracle's, and the keys of the sequence kernels that ran.
 */
async function runCase(
  spec: CellSpec,
  T: number,
  B: number,
  H: number,
  reverse: boolean,
  withN: boolean,
  seed: number,
) {
  const be = await webgpuBackend();
  const runner = wgslRunner();
  const rng = new Rng(seed);
  const live: DeviceBuffer[] = [];
  const put = (d: ArrayLike<number>) => {
    const b = be.alloc(d.length, 'float32');
    be.write(b, d);
    live.push(b);
    return b;
  };
  const nan = (n: number) => put(new Float64Array(n).fill(Number.NaN));
  const read = async (b: DeviceBuffer) => Float64Array.from(await be.read(b));
  const BH = B * H;
  const host = randomSequence(spec, rng, T, B, H, reverse);
  const g = randomGrads(spec, rng, T, B, H, { dOut: true, dhN: withN });
  const keys: string[] = [];
  const run = runner.run.bind(runner);
  runner.run = (k) => {
    keys.push(k.key);
    run(k);
  };
  try {
    const f: SequenceForwardArgs = {
      T,
      B,
      H,
      reverse,
      p: put(host.p),
      wh: host.wh ? put(host.wh) : null,
      bh: host.bh ? put(host.bh) : null,
      pw: host.pw ? put(host.pw) : null,
      hAll: nan((T + 1) * BH),
      cAll: spec.hasCellState ? nan((T + 1) * BH) : null,
      cache: nan(T * B * spec.cacheWidth * H),
      zeroState: true,
    };
    const kernels = webgpuSequenceKernels(spec);
    kernels.forward(f);
    const a = backwardArgs(spec, f, g, put, nan);
    kernels.backward(a);
    const out: Record<string, Float64Array> = {
      hAll: await read(f.hAll),
      cache: await read(f.cache),
      dP: await read(a.dP),
      dh0: await read(a.dh0),
    };
    if (f.cAll) out.cAll = await read(f.cAll);
    if (a.dR) out.dR = await read(a.dR);
    if (a.dc0) out.dc0 = await read(a.dc0);
    if (a.dPw) out.dPw = await read(a.dPw);
    const fh = sequenceForward(spec, host);
    const bh = sequenceBackward(spec, { ...host, ...fh, ...g });
    const want: Record<string, Float64Array> = {
      hAll: fh.hAll,
      cache: fh.cache,
      dP: bh.dP,
      dh0: bh.dh0,
      ...(fh.cAll ? { cAll: fh.cAll } : {}),
      ...(bh.dR ? { dR: bh.dR } : {}),
      ...(bh.dc0 ? { dc0: bh.dc0 } : {}),
      ...(bh.dPw ? { dPw: bh.dPw } : {}),
    };
    await runner.sync();
    return { run: { out, keys: keys.filter((k) => k.startsWith('seq-')) } satisfies Run, want };
  } finally {
    runner.run = run;
    for (const b of live) be.dispose(b);
  }
}

/** The worst of worstError over the outputs, with its name. */
function worst(got: Record<string, Float64Array>, want: Record<string, Float64Array>): [string, number] {
  expect(Object.keys(got).sort()).toEqual(Object.keys(want).sort());
  return Object.keys(want)
    .map((k) => [k, worstError(got[k], want[k])] as [string, number])
    .sort((x, y) => y[1] - x[1])[0];
}

/** The plan the kernels should use for H units of `spec` under `split` on this device. */
function expectedPlan(spec: CellSpec, H: number, split: RecurrentSplit) {
  const runner = wgslRunner();
  const l = runner.device.limits;
  return recurrentPlan(H, spec.gr, split, {
    storageBytes: l.maxComputeWorkgroupStorageSize,
    maxThreads: Math.min(l.maxComputeInvocationsPerWorkgroup, l.maxComputeWorkgroupSizeX),
    subgroupSize: recurrentSubgroups() ? runner.subgroupSize : 0,
  });
}

/** The four built-in cells and core's step-kit cell (gr 1, a c, a pointwise parameter). */
const CELLS: CellSpec[] = [...CELL_NAMES.map((n) => cellSpec(n)), STEP_KIT_CELL];

describe.skipIf(!probe.ok)('tfjs-webgpu: recurrent products split over threads', () => {
  const T = 5;

  it('asks the device for subgroups where the adapter has them (else the cases below reduce through workgroup memory only)', async () => {
    await webgpuBackend();
    const gpu = (globalThis as { navigator?: { gpu?: GPU } }).navigator?.gpu;
    const adapter = await gpu?.requestAdapter({ powerPreference: 'high-performance' });
    const offered = adapter?.features.has('subgroups') ?? false;
    expect(wgslRunner().device.features.has('subgroups')).toBe(offered);
    if (offered) expect(wgslRunner().subgroupSize).toBe(adapter!.info.subgroupMinSize);
    // lavapipe (CI) has subgroups of 8, so every S below runs the subgroup reduction there too
    if ((await webgpuBackend()).softwareDevice?.includes('llvmpipe'))
      expect(wgslRunner().subgroupSize).toBe(8);
    else if (!offered)
      console.log('[tfjs-webgpu] no subgroups here: the split cases reduce through workgroup memory only');
  });
  for (const spec of CELLS) {
    for (const H of [7, 12, 33]) {
      it(`${spec.name}, H ${H}: S = 2, 4, 8 equal S = 1 within float32 rounding and the float64 oracle, B 1 and 5, both directions`, async () => {
        for (const B of [1, 5]) {
          for (const reverse of [false, true]) {
            const label = `B ${B}${reverse ? ', reverse' : ''}`;
            const withN = B === 5 || !reverse;
            setRecurrentSplit(1);
            setRecurrentSubgroups(null);
            const base = await runCase(spec, T, B, H, reverse, withN, 7 + H + B);
            const w0 = worst(base.run.out, base.want);
            expect(w0[1], `S 1, ${label}: ${w0[0]}`).toBeLessThan(1e-4);
            for (const [S, sub] of [2, 4, 8].flatMap((S) => [true, false].map((sub) => [S, sub] as const))) {
              setRecurrentSplit(S as 2 | 4 | 8);
              // in subgroups where the device has them, and through workgroup memory
              setRecurrentSubgroups(sub);
              const r = await runCase(spec, T, B, H, reverse, withN, 7 + H + B);
              const tag = `S ${S}${sub ? ' in subgroups' : ''}, ${label}`;
              const vsBase = worst(r.run.out, base.run.out);
              expect(vsBase[1], `${tag} against S 1: ${vsBase[0]}`).toBeLessThan(1e-5);
              const vsHost = worst(r.run.out, r.want);
              expect(vsHost[1], `${tag} against the oracle: ${vsHost[0]}`).toBeLessThan(1e-4);
              // the same passes; a recurrent cell's two kernels under the split plan
              expect(r.run.keys.length, tag).toBe(base.run.keys.length);
              if (spec.gr > 0) {
                const plan = expectedPlan(spec, H, S as 2 | 4 | 8);
                expect(isSplit(plan), tag).toBe(true);
                expect(isSubgroupPlan(plan), tag).toBe(sub && wgslRunner().subgroupSize >= S);
                const [fwd, bwd] = r.run.keys;
                expect(fwd, tag).toContain(`seq-fwd/`);
                expect(fwd, tag).toContain(`/${planKey(plan)}/`);
                expect(bwd, tag).toContain(`seq-bwd/`);
                expect(bwd, tag).toContain(`/${planKey(plan)}/`);
              } else {
                expect(r.run.keys, tag).toEqual(base.run.keys);
                expect(vsBase[1], tag).toBe(0);
              }
            }
          }
        }
      }, 120_000);
    }
  }

  it("'auto' and a plan with several units per thread (H 1100, S 2) are right too", async () => {
    for (const [spec, H, S, B] of [
      [cellSpec('LSTM'), 33, 'auto', 5],
      [STEP_KIT_CELL, 1100, 2, 2],
    ] as const) {
      const plan = expectedPlan(spec, H, S);
      setRecurrentSplit(1);
      const base = await runCase(spec, 3, B, H, true, true, 5);
      setRecurrentSplit(S);
      const r = await runCase(spec, 3, B, H, true, true, 5);
      const tag = `${spec.name}, H ${H}, S ${S} (${planKey(plan)})`;
      expect(r.run.keys[0], tag).toContain(`/${planKey(plan)}/`);
      // H 1100 over at most 1024 threads: each thread takes several units
      if (H === 1100) expect((plan as SplitPlan).nuS, tag).toBeGreaterThan(1);
      expect(worst(r.run.out, base.run.out)[1], tag).toBeLessThan(1e-5);
      const vsHost = worst(r.run.out, r.want);
      expect(vsHost[1], `${tag}: ${vsHost[0]}`).toBeLessThan(1e-4);
    }
  }, 120_000);
});
