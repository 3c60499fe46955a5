import { type CellSpec, type SequenceBackwardArgs, type SequenceForwardArgs, slots } from '@bistable/core';
import * as tf from '@tensorflow/tfjs-core';
import { assign, range, scope, tfjsBuffer } from '../buffer.js';
import { prefersExplicitTranspose } from './matmul.js';

/** One forward step given the state it consumes; r = h_prev @ wh (no bias), null without wh. */
export type ForwardStep = (s: {
  t: number;
  r: tf.Tensor2D | null;
  h: tf.Tensor2D;
  c: tf.Tensor2D | null;
}) => { h: tf.Tensor2D; c: tf.Tensor2D | null; cache: tf.Tensor2D };

/**
 * One backward step: `dh`/`dc` are the gradients carried into step t, `dPw` the pointwise
 * parameters' gradient so far. Returns dP_t, dR_t, the pointwise part of dL/dh_{t-1} (null:
 * zero; the loop adds dR_t @ whᵀ), dL/dc_{t-1} and the updated dPw.
 */
export type BackwardStep = (s: {
  t: number;
  prev: number;
  dh: tf.Tensor2D;
  dc: tf.Tensor2D | null;
  dPw: tf.Tensor1D | null;
}) => {
  dP: tf.Tensor2D;
  dR: tf.Tensor2D | null;
  dh: tf.Tensor2D | null;
  dc: tf.Tensor2D | null;
  dPw: tf.Tensor1D | null;
};

const mat = (t: tf.Tensor, rows: number, cols: number) => tf.reshape(t, [rows, cols]) as tf.Tensor2D;

/** The recurrent matrix [H, gr·H] of a call, or null for cells without one. */
function recurrentMatrix(spec: CellSpec, wh: SequenceForwardArgs['wh'], H: number): tf.Tensor2D | null {
  return spec.gr > 0 ? mat(range(wh!, 0, H * spec.gr * H), H, spec.gr * H) : null;
}

/**
 * Level 3 on tfjs: one layer, one direction, all T steps inside one call, the per-step math
 * supplied by `prepare` (called once per call, inside the call's scope, for the tensors its steps
 * share). Per-step states and caches stay in a JS array and are written to hAll / cache once at
 * the end: writing each step into hAll would rebuild the whole tensor every step.
 */
export function runSequenceForward(spec: CellSpec, a: SequenceForwardArgs, prepare: () => ForwardStep): void {
  tfjsBuffer(a.hAll).owner.activate();
  const { T, B, H, reverse } = a;
  const BH = B * H;
  const init = reverse ? T : 0;
  const out = scope(() => {
    const step = prepare();
    const wh = recurrentMatrix(spec, a.wh, H);
    const hs: tf.Tensor2D[] = new Array(T + 1);
    const cs: tf.Tensor2D[] = new Array(T + 1);
    const caches: tf.Tensor2D[] = new Array(T);
    hs[init] = mat(range(a.hAll, init * BH, BH), B, H);
    if (spec.hasCellState) cs[init] = mat(range(a.cAll!, init * BH, BH), B, H);
    for (let i = 0; i < T; i++) {
      const t = reverse ? T - 1 - i : i;
      const { prev, out: next } = slots(t, reverse);
      const o = scope(() =>
        step({
          t,
          r: wh ? (tf.matMul(hs[prev], wh) as tf.Tensor2D) : null,
          h: hs[prev],
          c: spec.hasCellState ? cs[prev] : null,
        }),
      );
      hs[next] = o.h;
      caches[t] = o.cache;
      if (o.c) cs[next] = o.c;
    }
    return {
      hAll: tf.concat(hs),
      cAll: spec.hasCellState ? tf.concat(cs) : null,
      cache: tf.concat(caches),
    };
  });
  assign(a.hAll, 0, out.hAll);
  if (out.cAll) assign(a.cAll!, 0, out.cAll);
  assign(a.cache, 0, out.cache);
}

/** Backpropagation through time over one call's T steps, in the reverse of the forward order. */
export function runSequenceBackward(
  spec: CellSpec,
  a: SequenceBackwardArgs,
  prepare: () => BackwardStep,
): void {
  tfjsBuffer(a.hAll).owner.activate();
  const { T, B, H, reverse } = a;
  const BH = B * H;
  const out = scope(() => {
    const step = prepare();
    const wh = recurrentMatrix(spec, a.wh, H);
    // dR @ whᵀ every step: transpose once where the backend's transposed product is slow
    const whT = wh && prefersExplicitTranspose() ? (tf.transpose(wh) as tf.Tensor2D) : null;
    let dh: tf.Tensor2D = a.dhN ? mat(range(a.dhN, 0, BH), B, H) : tf.zeros([B, H]);
    let dc: tf.Tensor2D | null = spec.hasCellState
      ? a.dcN
        ? mat(range(a.dcN, 0, BH), B, H)
        : tf.zeros([B, H])
      : null;
    let dPw: tf.Tensor1D | null = null;
    const dPs: tf.Tensor2D[] = new Array(T);
    const dRs: tf.Tensor2D[] = new Array(T);
    for (let i = 0; i < T; i++) {
      const t = reverse ? i : T - 1 - i;
      const { prev } = slots(t, reverse);
      const carry: Parameters<BackwardStep>[0] = { t, prev, dh, dc, dPw };
      const o: ReturnType<BackwardStep> & { dh: tf.Tensor2D } = scope(() => {
        const s = step(carry);
        // dL/dh_{t-1} gets the recurrent path dR @ whᵀ on top of the pointwise part
        let dhPrev = s.dh;
        if (wh && s.dR) {
          const viaR = (whT ? tf.matMul(s.dR, whT) : tf.matMul(s.dR, wh, false, true)) as tf.Tensor2D;
          dhPrev = dhPrev ? (tf.add(dhPrev, viaR) as tf.Tensor2D) : viaR;
        }
        return { ...s, dh: dhPrev ?? (tf.zerosLike(carry.dh) as tf.Tensor2D) };
      });
      dPs[t] = o.dP;
      if (o.dR) dRs[t] = o.dR;
      dh = o.dh;
      dc = o.dc;
      dPw = o.dPw;
    }
    return {
      dP: tf.concat(dPs),
      dR: spec.gr > 0 ? tf.concat(dRs) : null,
      dh0: dh,
      dc0: dc,
      dPw: spec.npw > 0 ? dPw : null,
    };
  });
  assign(a.dP, 0, out.dP);
  if (a.dR && out.dR) assign(a.dR, 0, out.dR);
  else out.dR?.dispose();
  assign(a.dh0, 0, out.dh0);
  if (a.dc0 && out.dc0) assign(a.dc0, 0, out.dc0);
  else out.dc0?.dispose();
  if (a.dPw) assign(a.dPw, 0, out.dPw ?? tf.zeros([a.dPw.length]));
  else out.dPw?.dispose();
}
