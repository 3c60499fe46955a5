import type {
  Backend,
  DType,
  SequenceBackwardArgs,
  SequenceForwardArgs,
  StepKernels,
} from '../backend/types.js';
import type { CellSpec } from '../cells/spec.js';
import { backwardSteps, forwardSteps, type StepScratch } from '../runner/step-loop.js';
import { dataOf, HostBuffer, hostArray } from './host-buffer.js';

/** Level 2 on host buffers is core's pointwise math called in place. */
export function hostStepKernels(cell: CellSpec): StepKernels {
  return {
    forward: (a) =>
      cell.forward({
        ...a,
        p: dataOf(a.p),
        r: a.r && dataOf(a.r),
        pw: a.pw && dataOf(a.pw),
        hPrev: dataOf(a.hPrev),
        cPrev: a.cPrev && dataOf(a.cPrev),
        hOut: dataOf(a.hOut),
        cOut: a.cOut && dataOf(a.cOut),
        cache: dataOf(a.cache),
      }),
    backward: (a) =>
      cell.backward({
        ...a,
        dOut: a.dOut && dataOf(a.dOut),
        dhCarry: dataOf(a.dhCarry),
        dcCarry: a.dcCarry && dataOf(a.dcCarry),
        cache: dataOf(a.cache),
        hPrev: dataOf(a.hPrev),
        cPrev: a.cPrev && dataOf(a.cPrev),
        pw: a.pw && dataOf(a.pw),
        dP: dataOf(a.dP),
        dR: a.dR && dataOf(a.dR),
        dhPrev: dataOf(a.dhPrev),
        dcPrev: a.dcPrev && dataOf(a.dcPrev),
        dPw: a.dPw && dataOf(a.dPw),
      }),
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
