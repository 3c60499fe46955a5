import { describe, expect, it } from 'vitest';
import {
  type Backend,
  backwardSteps,
  type CellName,
  cellSpec,
  type DeviceBuffer,
  forwardSteps,
  getBackend,
  matmul,
  offeredKernels,
  type RecurrentCarry,
  type RecurrentWeights,
  Rng,
  type SequenceBackwardArgs,
  type SequenceForwardArgs,
  type StepDriver,
  type StepScratch,
} from '../src/index.js';
import { addBiasRows } from '../src/runner/gemm-helpers.js';

/**
 * A driver that `fusesRecurrent` built on the reference backend's step kernels: it computes the
 * recurrent products the loops then leave out (R from wh and bh forward; the previous step's
 * dR @ whᵀ added to the incoming gradient backward), as a fused kernel does in one launch.
 */
function fusedDriver(be: Backend, base: StepDriver, B: number, H: number, grH: number): StepDriver {
  const ones = be.alloc(B, 'float64');
  be.fill(ones, 1);
  const r = be.alloc(B * grH, 'float64');
  const dh = be.alloc(B * H, 'float64');
  return {
    fusesRecurrent: true,
    forward(a, rec?: RecurrentWeights) {
      expect(a.r).toBeNull();
      if (!rec) throw new Error('no recurrent weights given');
      if (rec.bh) addBiasRows(be, ones, rec.bh, B, grH, r, 0, grH, false);
      matmul(be, {
        m: B,
        n: grH,
        k: H,
        a: a.hPrev,
        aOffset: a.hPrevOff,
        b: rec.wh,
        c: r,
        accumulate: rec.bh !== null,
      });
      return base.forward({ ...a, r, rOff: 0 });
    },
    backward(a, carry?: RecurrentCarry | null) {
      if (carry === undefined) throw new Error('no carry given');
      if (!carry) return base.backward(a);
      be.copy(a.dhCarry, a.dhCarryOff, dh, 0, B * H);
      matmul(be, {
        m: B,
        n: H,
        k: grH,
        a: carry.dR,
        aOffset: carry.dROff,
        b: carry.wh,
        transB: true,
        ldb: grH,
        c: dh,
        accumulate: true,
      });
      return base.backward({ ...a, dhCarry: dh, dhCarryOff: 0 });
    },
  };
}

describe('step loops with a driver that fuses the recurrent products', () => {
  it.each(
    (['nBRC', 'GRU', 'LSTM'] as CellName[]).flatMap((c) => [
      [c, false],
      [c, true],
    ]),
  )(
    '%s (reverse %s): same states, caches and gradients as the loops that run the GEMMs',
    async (cell, reverse) => {
      const be = await getBackend('reference');
      const spec = cellSpec(cell as CellName);
      const [T, B, H] = [5, 3, 4];
      const [gxH, grH] = [spec.gx * H, spec.gr * H];
      const rng = new Rng(17);
      const buf = (n: number, scale = 0) => {
        const b = be.alloc(n, 'float64');
        if (scale)
          be.write(
            b,
            Float64Array.from({ length: n }, () => rng.normal() * scale),
          );
        return b;
      };
      const p = buf(T * B * gxH, 1);
      const wh = buf(H * grH, 0.5);
      const bh = spec.name === 'GRU' || spec.name === 'LSTM' ? buf(grH, 0.3) : null;
      const dOut = buf(T * B * H, 1);
      const dhN = buf(B * H, 1);
      const h0 = Float64Array.from({ length: B * H }, () => rng.normal() * 0.5);
      const c0 = Float64Array.from({ length: B * H }, () => rng.normal() * 0.5);
      const base = offeredKernels(be, spec).step!;
      const run = async (driver: StepDriver) => {
        const hAll = buf((T + 1) * B * H);
        const cAll = spec.hasCellState ? buf((T + 1) * B * H) : null;
        const first = reverse ? T * B * H : 0;
        be.write(hAll, h0, first);
        if (cAll) be.write(cAll, c0, first);
        const fwd: SequenceForwardArgs = {
          T,
          B,
          H,
          reverse: reverse as boolean,
          p,
          wh,
          bh,
          pw: null,
          hAll,
          cAll,
          cache: buf(T * B * spec.cacheWidth * H),
        };
        const ones = buf(B);
        be.fill(ones, 1);
        const s: StepScratch = {
          ones,
          r: buf(B * grH),
          dh: [buf(B * H), buf(B * H)],
          dc: spec.hasCellState ? [buf(B * H), buf(B * H)] : null,
        };
        await forwardSteps(be, spec, fwd, driver, s);
        const bwd: SequenceBackwardArgs = {
          T,
          B,
          H,
          reverse: reverse as boolean,
          wh,
          pw: null,
          hAll,
          cAll,
          cache: fwd.cache,
          dOut,
          dhN,
          dcN: null,
          dP: buf(T * B * gxH),
          dR: buf(T * B * grH),
          dh0: buf(B * H),
          dc0: spec.hasCellState ? buf(B * H) : null,
          dPw: null,
        };
        await backwardSteps(be, spec, bwd, driver, s);
        const read = async (b: DeviceBuffer | null) => (b ? Array.from(await be.read(b)) : []);
        return {
          h: await read(hAll),
          c: await read(cAll),
          cache: await read(fwd.cache),
          dP: await read(bwd.dP),
          dR: await read(bwd.dR),
          dh0: await read(bwd.dh0),
          dc0: await read(bwd.dc0),
        };
      };
      const want = await run(base);
      const got = await run(fusedDriver(be, base, B, H, grH));
      for (const k of Object.keys(want) as (keyof typeof want)[]) {
        expect(got[k].length).toBe(want[k].length);
        let worst = 0;
        for (let i = 0; i < want[k].length; i++) worst = Math.max(worst, Math.abs(got[k][i] - want[k][i]));
        expect(worst, k).toBeLessThan(1e-12);
      }
      // the gradients are not trivially zero: dh0 carries every step's recurrent product
      expect(want.dh0.some((v) => Math.abs(v) > 1e-3)).toBe(true);
    },
  );
});
