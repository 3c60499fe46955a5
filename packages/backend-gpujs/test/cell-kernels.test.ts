import { CELLS, type DeviceBuffer, getBackend, offeredKernels, probeBackend } from '@bistable/core';
import { stepBackward, stepForward } from '@bistable/core/testing';
import { describe, expect, it } from 'vitest';
import type { GpujsBackend } from '../src/index.js';
import { CPU_RESIDENT } from './helpers.js';
import { PEEPHOLE } from './recipe-cell.js';

/**
 * The rendered kernels against core's own cell math (stepForward and stepBackward of
 * '@bistable/core/testing': the host functions of each cell's recipe, in float64) on one step,
 * with pre-activations up to ±40: saturated gates must come out finite and exact, where exp-based
 * textbook forms overflow to NaN in float32. The four built-in cells and a fifth made with
 * defineCell, which no kernel was written for.
 */
const SPECS = [...Object.values(CELLS), PEEPHOLE];
const B = 3;
const H = 5;
const PAD = 7; // every block sits at an offset, as inside core's sequence buffers

function rnd(n: number, scale: number, seed: number): Float64Array {
  let s = seed;
  return Float64Array.from({ length: n }, () => {
    s = (s * 1103515245 + 12345) % 2147483648;
    return ((s / 2147483648) * 2 - 1) * scale;
  });
}

function close(got: ArrayLike<number>, want: ArrayLike<number>, what: string) {
  expect(got.length, what).toBe(want.length);
  let worst = 0;
  for (let i = 0; i < want.length; i++)
    worst = Math.max(worst, Math.abs(got[i] - want[i]) / Math.max(1, Math.abs(want[i])));
  expect(worst, what).toBeLessThan(2e-6);
}

async function setup(be: GpujsBackend, data: Record<string, Float64Array>) {
  const bufs: Record<string, DeviceBuffer> = {};
  for (const [k, v] of Object.entries(data)) {
    bufs[k] = be.alloc(v.length + 2 * PAD, 'float32');
    // core passes pw and dPw without offsets: they are whole parameter buffers
    be.write(bufs[k], Float32Array.from(v), k === 'pw' || k === 'dPw' ? 0 : PAD);
  }
  return bufs;
}

const f32 = (a: Float64Array) => Float64Array.from(Float32Array.from(a));

// the GPU modes join where they run (xvfb-run for headlessgl, a Vulkan adapter for webgpu)
const gpus: string[] = [];
for (const n of ['gpujs-headlessgl', 'gpujs-webgpu']) if ((await probeBackend(n)).ok) gpus.push(n);

describe.each(['gpujs-cpu', 'gpujs-webasm', CPU_RESIDENT.name, ...gpus])('step kernels on %s', (name) => {
  for (const spec of SPECS) {
    it(`${spec.name}: forward and backward match core's math, saturated gates included`, async () => {
      const be = (await getBackend(name)) as GpujsBackend;
      const BH = B * H;
      const x = {
        p: f32(rnd(BH * spec.gx, 40, 1)),
        r: f32(rnd(Math.max(1, BH * spec.gr), 40, 2)),
        pw: f32(rnd(Math.max(1, H * spec.npw), 2, 3)),
        hPrev: f32(rnd(BH, 1, 4)),
        cPrev: f32(rnd(BH, 5, 5)),
      };
      const want = stepForward(spec, B, H, x);
      // outputs start as junk, so a value the kernels never write shows
      const d = await setup(be, {
        ...x,
        h: rnd(BH, 9, 20),
        c: rnd(BH, 9, 21),
        cache: rnd(BH * spec.cacheWidth, 9, 22),
      });
      await be.stepForward(spec, {
        B,
        H,
        p: d.p,
        pOff: PAD,
        r: spec.gr ? d.r : null,
        rOff: PAD,
        pw: spec.npw ? d.pw : null,
        hPrev: d.hPrev,
        hPrevOff: PAD,
        cPrev: spec.hasCellState ? d.cPrev : null,
        cPrevOff: PAD,
        hOut: d.h,
        hOutOff: PAD,
        cOut: spec.hasCellState ? d.c : null,
        cOutOff: PAD,
        cache: d.cache,
        cacheOff: PAD,
      });
      close(await be.read(d.h, PAD, BH), want.hOut, 'h');
      close(await be.read(d.cache, PAD, BH * spec.cacheWidth), want.cache, 'cache');
      if (spec.hasCellState) close(await be.read(d.c, PAD, BH), want.cOut!, 'c');

      for (const withOut of [true, false]) {
        const g = {
          dOut: f32(rnd(BH, 1, 6)),
          dh: f32(rnd(BH, 1, 7)),
          dc: f32(rnd(BH, 1, 8)),
          dPw: f32(rnd(Math.max(1, H * spec.npw), 1, 9)),
        };
        const w = stepBackward(spec, B, H, {
          dOut: withOut ? g.dOut : null,
          dhCarry: g.dh,
          dcCarry: g.dc,
          cache: f32(want.cache),
          hPrev: x.hPrev,
          cPrev: x.cPrev,
          pw: x.pw,
          dPw: g.dPw,
        });
        const gd = await setup(be, {
          ...g,
          dP: rnd(BH * spec.gx, 9, 23),
          dR: rnd(Math.max(1, BH * spec.gr), 9, 24),
          dhPrev: rnd(BH, 9, 25),
          dcPrev: rnd(BH, 9, 26),
        });
        await be.stepBackward(spec, {
          B,
          H,
          dOut: withOut ? gd.dOut : null,
          dOutOff: PAD,
          dhCarry: gd.dh,
          dhCarryOff: PAD,
          dcCarry: spec.hasCellState ? gd.dc : null,
          dcCarryOff: PAD,
          cache: d.cache,
          cacheOff: PAD,
          hPrev: d.hPrev,
          hPrevOff: PAD,
          cPrev: spec.hasCellState ? d.cPrev : null,
          cPrevOff: PAD,
          pw: spec.npw ? d.pw : null,
          dP: gd.dP,
          dPOff: PAD,
          dR: spec.gr ? gd.dR : null,
          dROff: PAD,
          dhPrev: gd.dhPrev,
          dhPrevOff: PAD,
          dcPrev: spec.hasCellState ? gd.dcPrev : null,
          dcPrevOff: PAD,
          dPw: spec.npw ? gd.dPw : null,
        });
        const tag = withOut ? 'with dOut' : 'without dOut';
        close(await be.read(gd.dP, PAD, BH * spec.gx), w.dP, `dP ${tag}`);
        if (spec.gr) close(await be.read(gd.dR, PAD, BH * spec.gr), w.dR!, `dR ${tag}`);
        close(await be.read(gd.dhPrev, PAD, BH), w.dhPrev, `dhPrev ${tag}`);
        if (spec.hasCellState) close(await be.read(gd.dcPrev, PAD, BH), w.dcPrev!, `dcPrev ${tag}`);
        if (spec.npw) close(await be.read(gd.dPw, 0, H * spec.npw), w.dPw!, `dPw ${tag}`);
        for (const b of Object.values(gd)) be.dispose(b);
      }
      for (const b of Object.values(d)) be.dispose(b);
    });
  }
});

describe.each([CPU_RESIDENT.name, ...gpus])('level 3 on %s', (name) => {
  for (const spec of SPECS) {
    it(`${spec.name}: the fused sequence forward and backward match core's step loop on the reference backend`, async () => {
      const T = 3;
      const BH = B * H;
      const host = {
        p: f32(rnd(T * BH * spec.gx, 40, 11)),
        wh: f32(rnd(Math.max(1, H * spec.gr * H), 1, 12)),
        bh: f32(rnd(Math.max(1, spec.gr * H), 1, 13)),
        pw: f32(rnd(Math.max(1, spec.npw * H), 2, 14)),
        hAll: f32(rnd((T + 1) * BH, 1, 15)),
        cAll: f32(rnd((T + 1) * BH, 3, 16)),
        cache: new Float64Array(T * BH * spec.cacheWidth),
      };
      const results = [];
      for (const [beName, dtype] of [
        ['reference', 'float64'],
        [name, 'float32'],
      ] as const) {
        const be = await getBackend(beName);
        const seq = offeredKernels(be, spec).sequence!;
        const buf = (a: Float64Array) => {
          const b = be.alloc(a.length, dtype);
          be.write(b, dtype === 'float32' ? Float32Array.from(a) : a);
          return b;
        };
        const d = Object.fromEntries(Object.entries(host).map(([k, v]) => [k, buf(v)]));
        for (const reverse of [false, true]) {
          await seq.forward({
            T,
            B,
            H,
            reverse,
            p: d.p,
            wh: spec.gr ? d.wh : null,
            bh: spec.hasBh ? d.bh : null,
            pw: spec.npw ? d.pw : null,
            hAll: d.hAll,
            cAll: spec.hasCellState ? d.cAll : null,
            cache: d.cache,
          });
          const grads = {
            dOut: buf(rnd(T * BH, 1, 17)),
            dhN: buf(rnd(BH, 1, 18)),
            dcN: buf(rnd(BH, 1, 19)),
            dP: be.alloc(T * BH * spec.gx, dtype),
            dR: be.alloc(Math.max(1, T * BH * spec.gr), dtype),
            dh0: be.alloc(BH, dtype),
            dc0: be.alloc(BH, dtype),
            dPw: be.alloc(Math.max(1, H * spec.npw), dtype),
          };
          await seq.backward({
            T,
            B,
            H,
            reverse,
            wh: spec.gr ? d.wh : null,
            pw: spec.npw ? d.pw : null,
            hAll: d.hAll,
            cAll: spec.hasCellState ? d.cAll : null,
            cache: d.cache,
            dOut: grads.dOut,
            dhN: grads.dhN,
            dcN: spec.hasCellState ? grads.dcN : null,
            dP: grads.dP,
            dR: spec.gr ? grads.dR : null,
            dh0: grads.dh0,
            dc0: spec.hasCellState ? grads.dc0 : null,
            dPw: spec.npw ? grads.dPw : null,
          });
          const read = async (b: DeviceBuffer) => Float64Array.from(await be.read(b));
          results.push({
            hAll: await read(d.hAll),
            cAll: await read(d.cAll),
            cache: await read(d.cache),
            dP: await read(grads.dP),
            dR: await read(grads.dR),
            dh0: await read(grads.dh0),
            dc0: await read(grads.dc0),
            dPw: await read(grads.dPw),
          });
          for (const b of Object.values(grads)) be.dispose(b);
        }
        for (const b of Object.values(d)) be.dispose(b);
      }
      for (let i = 0; i < 2; i++) {
        close(results[2 + i].hAll, results[i].hAll, `hAll (reverse ${i === 1})`);
        close(results[2 + i].cache, results[i].cache, `cache (reverse ${i === 1})`);
        if (spec.hasCellState) close(results[2 + i].cAll, results[i].cAll, `cAll (reverse ${i === 1})`);
        for (const k of ['dP', 'dR', 'dh0', 'dc0', 'dPw'] as const) {
          close(results[2 + i][k], results[i][k], `${k} (reverse ${i === 1})`);
        }
      }
    });
  }
});
