import {
  CELLS,
  type CellName,
  type SequenceBackwardArgs,
  type SequenceForwardArgs,
  type SequenceKernels,
} from '@bistable/core';
import * as tf from '@tensorflow/tfjs-core';
import { assign, range, scope, tensorOf, tfjsBuffer } from '../buffer.js';
import { fusedBackward, fusedForward } from './fused-step.js';
import { prefersExplicitTranspose } from './matmul.js';

/**
 * Level 3 for tfjs-cpu and tfjs-wasm: per step, the recurrent GEMM as tf.matMul and the whole
 * pointwise step as one fused kernel (fused-step.ts) that reads the sequence tensors in place at
 * the step's offset. Per-step states and caches are kept in a JS array and concatenated once.
 */
export function fusedSequenceKernels(cell: CellName): SequenceKernels {
  const spec = CELLS[cell];
  const { gx, gr, cacheWidth: cw, npw, hasCellState } = spec;
  return {
    forward(a: SequenceForwardArgs): void {
      tfjsBuffer(a.hAll).owner.activate();
      const { T, B, H, reverse } = a;
      const BH = B * H;
      const init = reverse ? T : 0;
      const out = scope(() => {
        const p = tensorOf(a.p);
        const wh = gr > 0 ? (tf.reshape(tensorOf(a.wh!), [H, gr * H]) as tf.Tensor2D) : null;
        const bh = a.bh ? tensorOf(a.bh) : null;
        const pw = a.pw ? tensorOf(a.pw) : null;
        const hs: tf.Tensor2D[] = new Array(T + 1);
        const cs: tf.Tensor2D[] = new Array(T + 1);
        const caches: tf.Tensor2D[] = new Array(T);
        hs[init] = tf.reshape(range(a.hAll, init * BH, BH), [B, H]);
        if (hasCellState) cs[init] = tf.reshape(range(a.cAll!, init * BH, BH), [B, H]);
        for (let i = 0; i < T; i++) {
          const t = reverse ? T - 1 - i : i;
          const prev = reverse ? t + 1 : t;
          const next = reverse ? t : t + 1;
          const step = scope(() =>
            fusedForward(cell, {
              B,
              H,
              p,
              pOff: t * B * gx * H,
              r: wh ? tf.matMul(hs[prev], wh) : null,
              rOff: 0,
              bh,
              pw,
              h: hs[prev],
              hOff: 0,
              c: hasCellState ? cs[prev] : null,
              cOff: 0,
            }),
          );
          hs[next] = step.h;
          caches[t] = step.cache;
          if (step.c) cs[next] = step.c;
        }
        return {
          hAll: tf.concat(hs),
          cAll: hasCellState ? tf.concat(cs) : null,
          cache: tf.concat(caches),
        };
      });
      assign(a.hAll, 0, out.hAll);
      if (out.cAll) assign(a.cAll!, 0, out.cAll);
      assign(a.cache, 0, out.cache);
    },

    backward(a: SequenceBackwardArgs): void {
      tfjsBuffer(a.hAll).owner.activate();
      const { T, B, H, reverse } = a;
      const BH = B * H;
      const out = scope(() => {
        const hAll = tensorOf(a.hAll);
        const cAll = hasCellState ? tensorOf(a.cAll!) : null;
        const cache = tensorOf(a.cache);
        const dOut = a.dOut ? tensorOf(a.dOut) : null;
        const wh = gr > 0 ? (tf.reshape(tensorOf(a.wh!), [H, gr * H]) as tf.Tensor2D) : null;
        // dR @ whᵀ every step: transpose once where the backend's transposed product is slow
        const whT = wh && prefersExplicitTranspose() ? (tf.transpose(wh) as tf.Tensor2D) : null;
        const pw = a.pw ? tensorOf(a.pw) : null;
        let dh: tf.Tensor = a.dhN ? range(a.dhN, 0, BH) : tf.zeros([BH]);
        let dc: tf.Tensor | null = hasCellState ? (a.dcN ? range(a.dcN, 0, BH) : tf.zeros([BH])) : null;
        let dPw: tf.Tensor1D | null = null;
        const dPs: tf.Tensor2D[] = new Array(T);
        const dRs: tf.Tensor2D[] = new Array(T);
        for (let i = 0; i < T; i++) {
          const t = reverse ? i : T - 1 - i;
          const prev = reverse ? t + 1 : t;
          const carry = { dh, dc, dPw };
          const step = scope(() => {
            const o = fusedBackward(cell, {
              B,
              H,
              dh: carry.dh,
              dhOff: 0,
              dc: carry.dc,
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
              dPw: carry.dPw,
            });
            // dL/dh_{t-1} gets the recurrent path dR @ whᵀ on top of the pointwise part
            let dhPrev = o.dh;
            if (wh && o.dR)
              dhPrev = tf.add(dhPrev, whT ? tf.matMul(o.dR, whT) : tf.matMul(o.dR, wh, false, true));
            return { ...o, dh: dhPrev };
          });
          dPs[t] = step.dP;
          if (step.dR) dRs[t] = step.dR;
          dh = step.dh;
          dc = step.dc;
          dPw = step.dPw;
        }
        return {
          dP: tf.concat(dPs),
          dR: gr > 0 ? tf.concat(dRs) : null,
          dh0: dh,
          dc0: dc,
          dPw: npw > 0 ? dPw : null,
        };
      });
      assign(a.dP, 0, out.dP);
      if (a.dR && out.dR) assign(a.dR, 0, out.dR);
      else out.dR?.dispose();
      assign(a.dh0, 0, out.dh0);
      if (a.dc0 && out.dc0) assign(a.dc0, 0, out.dc0);
      else out.dc0?.dispose();
      if (a.dPw && out.dPw) assign(a.dPw, 0, out.dPw);
      else out.dPw?.dispose();
    },
  };
}
