import type { Backend, SequenceBackwardArgs, SequenceForwardArgs, StepKernels } from '../backend/types.js';
import type { CellSpec } from '../cells/spec.js';
import { dataOf, HostBuffer } from '../reference/host-buffer.js';
import { backwardSteps, forwardSteps, type StepScratch } from '../runner/step-loop.js';

/**
 * float64 on the cpu backend: host typed arrays driven by core's own step loop and cell math,
 * as the reference backend does. The WebAssembly kernels are float32 only; float64 is here so
 * that `auto` never refuses a float64 model, and it runs at the reference's speed.
 */
export function float64SequenceKernels(be: Backend, cell: CellSpec) {
  const step: StepKernels = {
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
  const scratches = new Map<string, StepScratch>();
  const scratch = (B: number, H: number): StepScratch => {
    const key = `${B}x${H}`;
    let s = scratches.get(key);
    if (!s) {
      s = {
        ones: new HostBuffer(new Float64Array(B).fill(1)),
        r: cell.gr > 0 ? be.alloc(B * cell.gr * H, 'float64') : null,
        dh: [be.alloc(B * H, 'float64'), be.alloc(B * H, 'float64')],
        dc: cell.hasCellState ? [be.alloc(B * H, 'float64'), be.alloc(B * H, 'float64')] : null,
      };
      scratches.set(key, s);
    }
    return s;
  };
  return {
    forward: (a: SequenceForwardArgs) => forwardSteps(be, cell, a, step, scratch(a.B, a.H)),
    backward: (a: SequenceBackwardArgs) => backwardSteps(be, cell, a, step, scratch(a.B, a.H)),
  };
}
