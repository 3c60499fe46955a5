import type {
  Backend,
  DeviceBuffer,
  DType,
  HostArray,
  SequenceBackwardArgs,
  SequenceForwardArgs,
  StepKernels,
} from '../backend/types.js';
import type { CellSpec } from '../cells/spec.js';
import { backwardSteps, forwardSteps, type StepScratch } from '../runner/step-loop.js';
import { dataOf, HostBuffer, hostArray } from './host-buffer.js';

/** A typed array holding a buffer, and the index of the buffer's element 0 in it. */
export type ViewOf = (buf: DeviceBuffer) => [HostArray, number];

const hostView: ViewOf = (buf) => [dataOf(buf), 0];

/**
 * Level 2 wherever buffers are typed arrays in host memory (the reference backend's, the cpu
 * backend's WebAssembly heap): the cell's host functions called in place, any cell.
 */
export function hostStepKernels(cell: CellSpec, viewOf: ViewOf = hostView): StepKernels {
  // operand blocks with an offset become (array, index) pairs; pw and dPw have none, so they
  // become subarrays starting at their element 0
  const at = (buf: DeviceBuffer, off: number): [HostArray, number] => {
    const [d, base] = viewOf(buf);
    return [d, base + off];
  };
  const whole = (buf: DeviceBuffer | null, n: number): HostArray | null => {
    if (!buf) return null;
    const [d, base] = viewOf(buf);
    return base === 0 ? d : (d.subarray(base, base + n) as HostArray);
  };
  const opt = (buf: DeviceBuffer | null, off: number): [HostArray | null, number] =>
    buf ? at(buf, off) : [null, 0];
  return {
    forward: (a) => {
      const [p, pOff] = at(a.p, a.pOff);
      const [r, rOff] = opt(a.r, a.rOff);
      const [hPrev, hPrevOff] = at(a.hPrev, a.hPrevOff);
      const [cPrev, cPrevOff] = opt(a.cPrev, a.cPrevOff);
      const [hOut, hOutOff] = at(a.hOut, a.hOutOff);
      const [cOut, cOutOff] = opt(a.cOut, a.cOutOff);
      const [cache, cacheOff] = at(a.cache, a.cacheOff);
      const pw = whole(a.pw, cell.npw * a.H);
      cell.forward({
        B: a.B,
        H: a.H,
        p,
        pOff,
        r,
        rOff,
        pw,
        hPrev,
        hPrevOff,
        cPrev,
        cPrevOff,
        hOut,
        hOutOff,
        cOut,
        cOutOff,
        cache,
        cacheOff,
      });
    },
    backward: (a) => {
      const [dOut, dOutOff] = opt(a.dOut, a.dOutOff);
      const [dhCarry, dhCarryOff] = at(a.dhCarry, a.dhCarryOff);
      const [dcCarry, dcCarryOff] = opt(a.dcCarry, a.dcCarryOff);
      const [cache, cacheOff] = at(a.cache, a.cacheOff);
      const [hPrev, hPrevOff] = at(a.hPrev, a.hPrevOff);
      const [cPrev, cPrevOff] = opt(a.cPrev, a.cPrevOff);
      const [dP, dPOff] = at(a.dP, a.dPOff);
      const [dR, dROff] = opt(a.dR, a.dROff);
      const [dhPrev, dhPrevOff] = at(a.dhPrev, a.dhPrevOff);
      const [dcPrev, dcPrevOff] = opt(a.dcPrev, a.dcPrevOff);
      const n = cell.npw * a.H;
      cell.backward({
        B: a.B,
        H: a.H,
        dOut,
        dOutOff,
        dhCarry,
        dhCarryOff,
        dcCarry,
        dcCarryOff,
        cache,
        cacheOff,
        hPrev,
        hPrevOff,
        cPrev,
        cPrevOff,
        pw: whole(a.pw, n),
        dP,
        dPOff,
        dR,
        dROff,
        dhPrev,
        dhPrevOff,
        dcPrev,
        dcPrevOff,
        dPw: whole(a.dPw, n),
      });
    },
  };
}

/** Level 3 on host buffers: core's step loop run inside the backend, its scratch reused per size. */
export function hostSequenceKernels(be: Backend, cell: CellSpec, step: StepKernels) {
  // scratch is reused across calls of the same size, so training steps allocate nothing here
  const cache = new Map<string, StepScratch>();
  const scratch = (B: number, H: number, dtype: DType): StepScratch => {
    const key = `${B}x${H}:${dtype}`;
    let s = cache.get(key);
    if (!s) {
      s = {
        ones: new HostBuffer(hostArray(B, dtype).fill(1)),
        r: cell.gr > 0 ? be.alloc(B * cell.gr * H, dtype) : null,
        dh: [be.alloc(B * H, dtype), be.alloc(B * H, dtype)],
        dc: cell.hasCellState ? [be.alloc(B * H, dtype), be.alloc(B * H, dtype)] : null,
      };
      cache.set(key, s);
    }
    return s;
  };
  return {
    forward: (a: SequenceForwardArgs) => forwardSteps(be, cell, a, step, scratch(a.B, a.H, a.hAll.dtype)),
    backward: (a: SequenceBackwardArgs) => backwardSteps(be, cell, a, step, scratch(a.B, a.H, a.hAll.dtype)),
  };
}
