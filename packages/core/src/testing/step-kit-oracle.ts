import type { CellSpec } from '../cells/spec.js';

/**
 * The step kit's expected values: core's host functions (CellSpec.forward/backward) on float64
 * arrays, with the recurrent products and the sequence loops written out here as plain loops, so
 * that a check of core's own step loop (the reference backend's sequence kernels) does not
 * compare that loop with itself.
 */

/** c[m×n] (+)= a[m×k] @ b, b [k×n], or bᵀ with b stored [n×k]; all row-major, from offsets. */
export function product(
  m: number,
  n: number,
  k: number,
  a: ArrayLike<number>,
  aOff: number,
  b: ArrayLike<number>,
  transB: boolean,
  c: Float64Array,
  cOff: number,
  accumulate: boolean,
): void {
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = accumulate ? c[cOff + i * n + j] : 0;
      for (let p = 0; p < k; p++) s += a[aOff + i * k + p] * (transB ? b[j * k + p] : b[p * n + j]);
      c[cOff + i * n + j] = s;
    }
  }
}

/** R = h @ wh + bh for B rows: what a step kernel that fuses the recurrent product computes. */
export function recurrentProduct(
  spec: CellSpec,
  B: number,
  H: number,
  h: ArrayLike<number>,
  hOff: number,
  wh: ArrayLike<number>,
  bh: ArrayLike<number> | null,
): Float64Array {
  const w = spec.gr * H;
  const r = new Float64Array(B * w);
  for (let b = 0; b < B; b++) for (let j = 0; j < w; j++) r[b * w + j] = bh ? bh[j] : 0;
  product(B, w, H, h, hOff, wh, false, r, 0, true);
  return r;
}

export interface StepInputs {
  p: Float64Array;
  r: Float64Array | null;
  pw: Float64Array | null;
  hPrev: Float64Array;
  cPrev: Float64Array | null;
}

/** One forward step of B rows: the new h (and c) and the cache. */
export function stepForward(spec: CellSpec, B: number, H: number, x: StepInputs) {
  const hOut = new Float64Array(B * H);
  const cOut = spec.hasCellState ? new Float64Array(B * H) : null;
  const cache = new Float64Array(B * spec.cacheWidth * H);
  spec.forward({
    B,
    H,
    p: x.p,
    pOff: 0,
    r: x.r,
    rOff: 0,
    pw: x.pw,
    hPrev: x.hPrev,
    hPrevOff: 0,
    cPrev: x.cPrev,
    cPrevOff: 0,
    hOut,
    hOutOff: 0,
    cOut,
    cOutOff: 0,
    cache,
    cacheOff: 0,
  });
  return { hOut, cOut, cache };
}

export interface StepGradInputs {
  dOut: Float64Array | null;
  dhCarry: Float64Array;
  dcCarry: Float64Array | null;
  cache: Float64Array;
  hPrev: Float64Array;
  cPrev: Float64Array | null;
  pw: Float64Array | null;
  /** What dPw holds before the step (the step adds to it). */
  dPw: Float64Array | null;
}

/** One backward step of B rows: dP, dR, the pointwise dhPrev, dcPrev, and dPw after the step. */
export function stepBackward(spec: CellSpec, B: number, H: number, x: StepGradInputs) {
  const dP = new Float64Array(B * spec.gx * H);
  const dR = spec.gr > 0 ? new Float64Array(B * spec.gr * H) : null;
  const dhPrev = new Float64Array(B * H);
  const dcPrev = spec.hasCellState ? new Float64Array(B * H) : null;
  const dPw = x.dPw ? x.dPw.slice() : null;
  spec.backward({
    B,
    H,
    dOut: x.dOut,
    dOutOff: 0,
    dhCarry: x.dhCarry,
    dhCarryOff: 0,
    dcCarry: x.dcCarry,
    dcCarryOff: 0,
    cache: x.cache,
    cacheOff: 0,
    hPrev: x.hPrev,
    hPrevOff: 0,
    cPrev: x.cPrev,
    cPrevOff: 0,
    pw: x.pw,
    dP,
    dPOff: 0,
    dR,
    dROff: 0,
    dhPrev,
    dhPrevOff: 0,
    dcPrev,
    dcPrevOff: 0,
    dPw,
  });
  return { dP, dR, dhPrev, dcPrev, dPw };
}

/** Slot of the previous state and of the output for time index t (see SequenceForwardArgs). */
const slots = (t: number, reverse: boolean) => (reverse ? { prev: t + 1, out: t } : { prev: t, out: t + 1 });

/** What `sequenceForward` takes: one layer and direction's inputs in float64, laid out as SequenceForwardArgs. */
export interface SequenceInputs {
  T: number;
  B: number;
  H: number;
  reverse: boolean;
  /** [T, B, gx·H] */
  p: Float64Array;
  wh: Float64Array | null;
  bh: Float64Array | null;
  pw: Float64Array | null;
  /** [B, H] initial states */
  h0: Float64Array;
  c0: Float64Array | null;
}

/** A whole sequence forward: hAll and cAll [(T+1), B, H] (initial state in its slot), cache [T, B, cw·H]. */
export function sequenceForward(spec: CellSpec, s: SequenceInputs) {
  const { T, B, H, reverse } = s;
  const BH = B * H;
  const hAll = new Float64Array((T + 1) * BH);
  const cAll = spec.hasCellState ? new Float64Array((T + 1) * BH) : null;
  const cache = new Float64Array(T * B * spec.cacheWidth * H);
  const init = reverse ? T : 0;
  hAll.set(s.h0, init * BH);
  if (cAll && s.c0) cAll.set(s.c0, init * BH);
  for (let i = 0; i < T; i++) {
    const t = reverse ? T - 1 - i : i;
    const { prev, out } = slots(t, reverse);
    const r = spec.gr > 0 ? recurrentProduct(spec, B, H, hAll, prev * BH, s.wh!, s.bh) : null;
    spec.forward({
      B,
      H,
      p: s.p,
      pOff: t * B * spec.gx * H,
      r,
      rOff: 0,
      pw: s.pw,
      hPrev: hAll,
      hPrevOff: prev * BH,
      cPrev: cAll,
      cPrevOff: prev * BH,
      hOut: hAll,
      hOutOff: out * BH,
      cOut: cAll,
      cOutOff: out * BH,
      cache,
      cacheOff: t * B * spec.cacheWidth * H,
    });
  }
  return { hAll, cAll, cache };
}

/** What `sequenceBackward` takes: the forward's states and cache and the gradients reaching them (SequenceBackwardArgs' layout). */
export interface SequenceGradInputs {
  T: number;
  B: number;
  H: number;
  reverse: boolean;
  wh: Float64Array | null;
  pw: Float64Array | null;
  hAll: Float64Array;
  cAll: Float64Array | null;
  cache: Float64Array;
  dOut: Float64Array | null;
  dhN: Float64Array | null;
  dcN: Float64Array | null;
}

/** Backpropagation through a whole sequence, with the bias gradients as column sums. */
export function sequenceBackward(spec: CellSpec, s: SequenceGradInputs) {
  const { T, B, H, reverse } = s;
  const BH = B * H;
  const gxH = spec.gx * H;
  const grH = spec.gr * H;
  const dP = new Float64Array(T * B * gxH);
  const dR = spec.gr > 0 ? new Float64Array(T * B * grH) : null;
  const dPw = spec.npw > 0 ? new Float64Array(spec.npw * H) : null;
  let dh = s.dhN ? s.dhN.slice() : new Float64Array(BH);
  let dc = spec.hasCellState ? (s.dcN ? s.dcN.slice() : new Float64Array(BH)) : null;
  for (let i = 0; i < T; i++) {
    const t = reverse ? i : T - 1 - i;
    const { prev } = slots(t, reverse);
    const dhPrev = new Float64Array(BH);
    const dcPrev = dc ? new Float64Array(BH) : null;
    spec.backward({
      B,
      H,
      dOut: s.dOut,
      dOutOff: t * BH,
      dhCarry: dh,
      dhCarryOff: 0,
      dcCarry: dc,
      dcCarryOff: 0,
      cache: s.cache,
      cacheOff: t * B * spec.cacheWidth * H,
      hPrev: s.hAll,
      hPrevOff: prev * BH,
      cPrev: s.cAll,
      cPrevOff: prev * BH,
      pw: s.pw,
      dP,
      dPOff: t * B * gxH,
      dR,
      dROff: t * B * grH,
      dhPrev,
      dhPrevOff: 0,
      dcPrev,
      dcPrevOff: 0,
      dPw,
    });
    if (dR) product(B, H, grH, dR, t * B * grH, s.wh!, true, dhPrev, 0, true);
    dh = dhPrev;
    dc = dcPrev;
  }
  return {
    dP,
    dR,
    dh0: dh,
    dc0: dc,
    dPw,
    dBx: columnSums(dP, T * B, gxH, spec.nbx * H),
    dBh: dR && spec.hasBh ? columnSums(dR, T * B, grH, grH) : null,
  };
}

/** Sums of the first `width` columns of a [rows, ld] matrix. */
export function columnSums(a: Float64Array, rows: number, ld: number, width: number): Float64Array {
  const out = new Float64Array(width);
  for (let r = 0; r < rows; r++) for (let j = 0; j < width; j++) out[j] += a[r * ld + j];
  return out;
}
