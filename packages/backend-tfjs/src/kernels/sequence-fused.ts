import type { CellSpec, SequenceKernels } from '@bistable/core';
import { tensorOf } from '../buffer.js';
import { fusedBackward, fusedForward } from './fused-step.js';
import { runSequenceBackward, runSequenceForward } from './sequence-loop.js';

/**
 * Level 3 for tfjs-cpu and tfjs-wasm: per step, the recurrent GEMM as tf.matMul (in
 * sequence-loop.ts) and the whole pointwise step as one fused kernel (fused-step.ts) that reads
 * the sequence tensors in place at the step's offset, so no per-step slice of them is made.
 */
export function fusedSequenceKernels(spec: CellSpec): SequenceKernels {
  const { gx, cacheWidth: cw } = spec;
  return {
    forward: (a) =>
      runSequenceForward(spec, a, () => {
        const { B, H } = a;
        const p = tensorOf(a.p);
        const bh = a.bh ? tensorOf(a.bh) : null;
        const pw = a.pw ? tensorOf(a.pw) : null;
        return ({ t, r, h, c }) =>
          fusedForward(spec, { B, H, p, pOff: t * B * gx * H, r, rOff: 0, bh, pw, h, hOff: 0, c, cOff: 0 });
      }),

    backward: (a) =>
      runSequenceBackward(spec, a, () => {
        const { B, H } = a;
        const BH = B * H;
        const hAll = tensorOf(a.hAll);
        const cAll = spec.hasCellState ? tensorOf(a.cAll!) : null;
        const cache = tensorOf(a.cache);
        const dOut = a.dOut ? tensorOf(a.dOut) : null;
        const pw = a.pw ? tensorOf(a.pw) : null;
        return ({ t, prev, dh, dc, dPw }) =>
          fusedBackward(spec, {
            B,
            H,
            dh,
            dhOff: 0,
            dc,
            dcOff: 0,
            dOut,
            dOutOff: t * BH,
            cache,
            cacheOff: t * B * cw * H,
            h: hAll,
            hOff: prev * BH,
            c: cAll,
            cOff: prev * BH,
            pw,
            dPw,
          });
      }),
  };
}
