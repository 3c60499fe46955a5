import type { CellSpec, DeviceBuffer, StepBackwardArgs, StepForwardArgs, StepKernels } from '@bistable/core';
import * as tf from '@tensorflow/tfjs-core';
import { assign, range, scope, tensorOf, tfjsBuffer } from '../buffer.js';
import type { TfCellMath } from './cell-math.js';
import { fusedBackward, fusedForward } from './fused-step.js';

const block = (buf: DeviceBuffer, offset: number, rows: number, cols: number) =>
  tf.reshape(range(buf, offset, rows * cols), [rows, cols]) as tf.Tensor2D;

/**
 * Level 2 on any tfjs backend: one step's pointwise math as tfjs ops, read from and written to
 * the runner's buffers at their offsets. Every write rebuilds the target tensor, so a sequence
 * costs O(T²); level 3 (sequence.ts) is the fast path, this one keeps the step seam tested.
 */
export function tfjsStepKernels(spec: CellSpec, math: TfCellMath): StepKernels {
  const { gx, gr, cacheWidth: cw, npw } = spec;
  return {
    forward(a: StepForwardArgs<DeviceBuffer>): void {
      tfjsBuffer(a.hOut).owner.activate();
      const { B, H } = a;
      const o = scope(() =>
        math.forward({
          p: block(a.p, a.pOff, B, gx * H),
          r: a.r ? block(a.r, a.rOff, B, gr * H) : null,
          pw: a.pw ? range(a.pw, 0, npw * H) : null,
          h: block(a.hPrev, a.hPrevOff, B, H),
          c: a.cPrev ? block(a.cPrev, a.cPrevOff, B, H) : null,
        }),
      );
      assign(a.hOut, a.hOutOff, o.h);
      if (o.c) {
        if (a.cOut) assign(a.cOut, a.cOutOff, o.c);
        else o.c.dispose();
      }
      assign(a.cache, a.cacheOff, o.cache);
    },

    backward(a: StepBackwardArgs<DeviceBuffer>): void {
      tfjsBuffer(a.dP).owner.activate();
      const { B, H } = a;
      const o = scope(() => {
        const carry = block(a.dhCarry, a.dhCarryOff, B, H);
        const r = math.backward({
          g: a.dOut ? tf.add(carry, block(a.dOut, a.dOutOff, B, H)) : carry,
          dc: a.dcCarry ? block(a.dcCarry, a.dcCarryOff, B, H) : null,
          cache: block(a.cache, a.cacheOff, B, cw * H),
          h: block(a.hPrev, a.hPrevOff, B, H),
          c: a.cPrev ? block(a.cPrev, a.cPrevOff, B, H) : null,
          pw: a.pw ? range(a.pw, 0, npw * H) : null,
        });
        return {
          dP: r.dP,
          dR: r.dR,
          dh: r.dh ?? tf.zeros([B, H]),
          dc: r.dc,
          dPw: r.dPw && a.dPw ? tf.add(tensorOf(a.dPw), r.dPw) : null,
        };
      });
      assign(a.dP, a.dPOff, o.dP);
      if (o.dR) {
        if (a.dR) assign(a.dR, a.dROff, o.dR);
        else o.dR.dispose();
      }
      assign(a.dhPrev, a.dhPrevOff, o.dh);
      if (o.dc) {
        if (a.dcPrev) assign(a.dcPrev, a.dcPrevOff, o.dc);
        else o.dc.dispose();
      }
      if (o.dPw) assign(a.dPw!, 0, o.dPw);
    },
  };
}

/** Level 2 through the fused step kernel (tfjs-cpu, tfjs-wasm): inputs read in place at their offsets. */
export function fusedStepKernels(spec: CellSpec): StepKernels {
  return {
    forward(a: StepForwardArgs<DeviceBuffer>): void {
      tfjsBuffer(a.hOut).owner.activate();
      const o = scope(() =>
        fusedForward(spec, {
          B: a.B,
          H: a.H,
          p: tensorOf(a.p),
          pOff: a.pOff,
          r: a.r && tensorOf(a.r),
          rOff: a.rOff,
          bh: null,
          pw: a.pw && tensorOf(a.pw),
          h: tensorOf(a.hPrev),
          hOff: a.hPrevOff,
          c: a.cPrev && tensorOf(a.cPrev),
          cOff: a.cPrevOff,
        }),
      );
      assign(a.hOut, a.hOutOff, o.h);
      if (o.c) assign(a.cOut!, a.cOutOff, o.c);
      assign(a.cache, a.cacheOff, o.cache);
    },

    backward(a: StepBackwardArgs<DeviceBuffer>): void {
      tfjsBuffer(a.dP).owner.activate();
      const o = scope(() =>
        fusedBackward(spec, {
          B: a.B,
          H: a.H,
          dh: tensorOf(a.dhCarry),
          dhOff: a.dhCarryOff,
          dc: a.dcCarry && tensorOf(a.dcCarry),
          dcOff: a.dcCarryOff,
          dOut: a.dOut && tensorOf(a.dOut),
          dOutOff: a.dOutOff,
          cache: tensorOf(a.cache),
          cacheOff: a.cacheOff,
          h: tensorOf(a.hPrev),
          hOff: a.hPrevOff,
          c: a.cPrev && tensorOf(a.cPrev),
          cOff: a.cPrevOff,
          pw: a.pw && tensorOf(a.pw),
          dPw: a.dPw && tensorOf(a.dPw),
        }),
      );
      assign(a.dP, a.dPOff, o.dP);
      if (o.dR) assign(a.dR!, a.dROff, o.dR);
      assign(a.dhPrev, a.dhPrevOff, o.dh);
      if (o.dc) assign(a.dcPrev!, a.dcPrevOff, o.dc);
      if (o.dPw) assign(a.dPw!, 0, o.dPw);
    },
  };
}
