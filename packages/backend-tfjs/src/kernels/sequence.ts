import type { CellSpec, SequenceBackwardArgs, SequenceForwardArgs, SequenceKernels } from '@bistable/core';
import * as tf from '@tensorflow/tfjs-core';
import { assign, range, scope, tfjsBuffer } from '../buffer.js';
import type { TfCellMath } from './cell-math.js';
import { prefersExplicitTranspose } from './matmul.js';

const mat = (t: tf.Tensor, rows: number, cols: number) => tf.reshape(t, [rows, cols]) as tf.Tensor2D;

/**
 * Level 3 on any tfjs backend: one layer, one direction, all T steps inside one call. Each step
 * is a handful of tfjs ops on [B, ·] tensors; the per-step states and caches stay in a JS array
 * and are written to hAll / cache once, with tf.stack, at the end. Work stays O(T) on the backend
 * (writing each step into hAll would rebuild the whole tensor every step).
 */
export function tfjsSequenceKernels(spec: CellSpec, math: TfCellMath): SequenceKernels {
  const { gx, gr, cacheWidth: cw, hasCellState } = spec;
  return {
    forward(a: SequenceForwardArgs): void {
      tfjsBuffer(a.hAll).owner.activate();
      const { T, B, H, reverse } = a;
      const BH = B * H;
      const init = reverse ? T : 0;
      const out = scope(() => {
        const ps = tf.unstack(tf.reshape(range(a.p, 0, T * B * gx * H), [T, B, gx * H])) as tf.Tensor2D[];
        const wh = gr > 0 ? mat(range(a.wh!, 0, H * gr * H), H, gr * H) : null;
        const bh = a.bh ? range(a.bh, 0, gr * H) : null;
        const pw = a.pw ? range(a.pw, 0, spec.npw * H) : null;
        const hs: tf.Tensor2D[] = new Array(T + 1);
        const cs: tf.Tensor2D[] = new Array(T + 1);
        const caches: tf.Tensor2D[] = new Array(T);
        hs[init] = mat(range(a.hAll, init * BH, BH), B, H);
        if (hasCellState) cs[init] = mat(range(a.cAll!, init * BH, BH), B, H);
        for (let i = 0; i < T; i++) {
          const t = reverse ? T - 1 - i : i;
          const prev = reverse ? t + 1 : t;
          const next = reverse ? t : t + 1;
          const step = scope(() => {
            let r: tf.Tensor2D | null = null;
            if (wh) {
              r = tf.matMul(hs[prev], wh) as tf.Tensor2D;
              if (bh) r = tf.add(r, bh) as tf.Tensor2D;
            }
            return math.forward({ p: ps[t], r, pw, h: hs[prev], c: hasCellState ? cs[prev] : null });
          });
          hs[next] = step.h;
          caches[t] = step.cache;
          if (step.c) cs[next] = step.c;
        }
        return {
          hAll: tf.stack(hs),
          cAll: hasCellState ? tf.stack(cs) : null,
          cache: tf.stack(caches),
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
        const hs = tf.unstack(tf.reshape(range(a.hAll, 0, (T + 1) * BH), [T + 1, B, H])) as tf.Tensor2D[];
        const cs = hasCellState
          ? (tf.unstack(tf.reshape(range(a.cAll!, 0, (T + 1) * BH), [T + 1, B, H])) as tf.Tensor2D[])
          : null;
        const caches = tf.unstack(
          tf.reshape(range(a.cache, 0, T * B * cw * H), [T, B, cw * H]),
        ) as tf.Tensor2D[];
        const dOut = a.dOut
          ? (tf.unstack(tf.reshape(range(a.dOut, 0, T * BH), [T, B, H])) as tf.Tensor2D[])
          : null;
        const wh = gr > 0 ? mat(range(a.wh!, 0, H * gr * H), H, gr * H) : null;
        const whT = wh && prefersExplicitTranspose() ? (tf.transpose(wh) as tf.Tensor2D) : null;
        const pw = a.pw ? range(a.pw, 0, spec.npw * H) : null;
        let dh: tf.Tensor2D = a.dhN ? mat(range(a.dhN, 0, BH), B, H) : tf.zeros([B, H]);
        let dc: tf.Tensor2D | null = hasCellState
          ? a.dcN
            ? mat(range(a.dcN, 0, BH), B, H)
            : tf.zeros([B, H])
          : null;
        const dPs: tf.Tensor2D[] = new Array(T);
        const dRs: tf.Tensor2D[] = new Array(T);
        let dPw: tf.Tensor1D | null = null;
        for (let i = 0; i < T; i++) {
          const t = reverse ? i : T - 1 - i;
          const prev = reverse ? t + 1 : t;
          const carry = { dh, dc };
          const step = scope(() => {
            const g = dOut ? (tf.add(carry.dh, dOut[t]) as tf.Tensor2D) : carry.dh;
            const o = math.backward({
              g,
              dc: carry.dc,
              cache: caches[t],
              h: hs[prev],
              c: cs ? cs[prev] : null,
              pw,
            });
            let dhPrev = o.dh;
            if (wh && o.dR) {
              const viaR = (whT ? tf.matMul(o.dR, whT) : tf.matMul(o.dR, wh, false, true)) as tf.Tensor2D;
              dhPrev = dhPrev ? (tf.add(dhPrev, viaR) as tf.Tensor2D) : viaR;
            }
            return {
              dP: o.dP,
              dR: o.dR,
              dh: dhPrev ?? (tf.zerosLike(g) as tf.Tensor2D),
              dc: o.dc,
              dPw: o.dPw,
            };
          });
          dPs[t] = step.dP;
          if (step.dR) dRs[t] = step.dR;
          dh = step.dh;
          dc = step.dc;
          if (step.dPw) dPw = dPw ? (tf.add(dPw, step.dPw) as tf.Tensor1D) : step.dPw;
        }
        return {
          dP: tf.stack(dPs),
          dR: gr > 0 ? tf.stack(dRs) : null,
          dh0: dh,
          dc0: dc,
          dPw,
        };
      });
      assign(a.dP, 0, out.dP);
      if (a.dR && out.dR) assign(a.dR, 0, out.dR);
      else out.dR?.dispose();
      assign(a.dh0, 0, out.dh0);
      if (a.dc0 && out.dc0) assign(a.dc0, 0, out.dc0);
      else out.dc0?.dispose();
      if (a.dPw && out.dPw) assign(a.dPw, 0, out.dPw);
      else if (a.dPw) assign(a.dPw, 0, tf.zeros([a.dPw.length]));
      else out.dPw?.dispose();
    },
  };
}
