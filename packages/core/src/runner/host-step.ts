import type {
  Backend,
  DeviceBuffer,
  DType,
  HostArray,
  StepBackwardArgs,
  StepForwardArgs,
} from '../backend/types.js';
import type { CellSpec } from '../cells/spec.js';
import type { StepDriver } from './step-loop.js';

const alloc = (n: number, dtype: DType): HostArray =>
  dtype === 'float64' ? new Float64Array(n) : new Float32Array(n);

/**
 * Level 1: a backend with only storage and GEMM. Each step's operands come back to the host,
 * core's own pointwise math runs on them, and the results go back. Host scratch is sized once.
 */
export function hostStepDriver(be: Backend, spec: CellSpec, B: number, H: number, dtype: DType): StepDriver {
  const BH = B * H;
  const s = {
    p: alloc(BH * spec.gx, dtype),
    r: alloc(Math.max(1, BH * spec.gr), dtype),
    pw: alloc(Math.max(1, H * spec.npw), dtype),
    hPrev: alloc(BH, dtype),
    cPrev: alloc(BH, dtype),
    hOut: alloc(BH, dtype),
    cOut: alloc(BH, dtype),
    cache: alloc(BH * spec.cacheWidth, dtype),
    dOut: alloc(BH, dtype),
    dh: alloc(BH, dtype),
    dc: alloc(BH, dtype),
    dP: alloc(BH * spec.gx, dtype),
    dR: alloc(Math.max(1, BH * spec.gr), dtype),
    dhPrev: alloc(BH, dtype),
    dcPrev: alloc(BH, dtype),
    dPw: alloc(Math.max(1, H * spec.npw), dtype),
  };
  const read = (buf: DeviceBuffer, off: number, into: HostArray, n: number) =>
    be.read(buf, off, n, n === into.length ? into : (into.subarray(0, n) as HostArray));
  const cell = spec.hasCellState;
  return {
    async forward(a: StepForwardArgs<DeviceBuffer>) {
      await read(a.p, a.pOff, s.p, BH * spec.gx);
      if (a.r) await read(a.r, a.rOff, s.r, BH * spec.gr);
      if (a.pw) await read(a.pw, 0, s.pw, H * spec.npw);
      await read(a.hPrev, a.hPrevOff, s.hPrev, BH);
      if (cell) await read(a.cPrev!, a.cPrevOff, s.cPrev, BH);
      spec.forward({
        B,
        H,
        p: s.p,
        pOff: 0,
        r: a.r ? s.r : null,
        rOff: 0,
        pw: a.pw ? s.pw : null,
        hPrev: s.hPrev,
        hPrevOff: 0,
        cPrev: cell ? s.cPrev : null,
        cPrevOff: 0,
        hOut: s.hOut,
        hOutOff: 0,
        cOut: cell ? s.cOut : null,
        cOutOff: 0,
        cache: s.cache,
        cacheOff: 0,
      });
      be.write(a.hOut, s.hOut, a.hOutOff);
      if (cell) be.write(a.cOut!, s.cOut, a.cOutOff);
      be.write(a.cache, s.cache, a.cacheOff);
    },
    async backward(a: StepBackwardArgs<DeviceBuffer>) {
      if (a.dOut) await read(a.dOut, a.dOutOff, s.dOut, BH);
      await read(a.dhCarry, a.dhCarryOff, s.dh, BH);
      if (cell) await read(a.dcCarry!, a.dcCarryOff, s.dc, BH);
      await read(a.cache, a.cacheOff, s.cache, BH * spec.cacheWidth);
      await read(a.hPrev, a.hPrevOff, s.hPrev, BH);
      if (cell) await read(a.cPrev!, a.cPrevOff, s.cPrev, BH);
      if (a.pw) await read(a.pw, 0, s.pw, H * spec.npw);
      if (a.dPw) await read(a.dPw, 0, s.dPw, H * spec.npw);
      spec.backward({
        B,
        H,
        dOut: a.dOut ? s.dOut : null,
        dOutOff: 0,
        dhCarry: s.dh,
        dhCarryOff: 0,
        dcCarry: cell ? s.dc : null,
        dcCarryOff: 0,
        cache: s.cache,
        cacheOff: 0,
        hPrev: s.hPrev,
        hPrevOff: 0,
        cPrev: cell ? s.cPrev : null,
        cPrevOff: 0,
        pw: a.pw ? s.pw : null,
        dP: s.dP,
        dPOff: 0,
        dR: a.dR ? s.dR : null,
        dROff: 0,
        dhPrev: s.dhPrev,
        dhPrevOff: 0,
        dcPrev: cell ? s.dcPrev : null,
        dcPrevOff: 0,
        dPw: a.dPw ? s.dPw : null,
      });
      be.write(a.dP, s.dP, a.dPOff);
      if (a.dR) be.write(a.dR, s.dR.subarray(0, BH * spec.gr), a.dROff);
      be.write(a.dhPrev, s.dhPrev, a.dhPrevOff);
      if (cell) be.write(a.dcPrev!, s.dcPrev, a.dcPrevOff);
      if (a.dPw) be.write(a.dPw, s.dPw.subarray(0, H * spec.npw), 0);
    },
  };
}
