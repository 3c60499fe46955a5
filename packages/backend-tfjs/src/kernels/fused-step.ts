import type { CellSpec } from '@bistable/core';
import type * as tf from '@tensorflow/tfjs-core';
import { registerHostKernel, runHost } from './host-kernels.js';

/**
 * One time step's pointwise math as a single tfjs kernel on tfjs-cpu and tfjs-wasm: the cell's
 * host functions (CellSpec.forward/backward, which core compiles from the cell's recipe) run on
 * the backend's memory, so the equations, the cache layout and the gradients are core's by
 * construction, for any cell. The spec travels as the kernel's `cell` attribute. Sequence inputs
 * (P, hAll, cache, dOut) are passed whole with element offsets, so no per-step slice of a long
 * tensor is needed.
 */
export const STEP_FORWARD = 'BistableStepForward';
export const STEP_BACKWARD = 'BistableStepBackward';

const num = (attrs: Readonly<Record<string, unknown>>, k: string) => attrs[k] as number;

export function registerFusedStepKernels(): void {
  registerHostKernel(STEP_FORWARD, (io, inputs, attrs) => {
    const spec = attrs.cell as CellSpec;
    const B = num(attrs, 'B');
    const H = num(attrs, 'H');
    const hOut = io.out([B, H]);
    const cache = io.out([B, spec.cacheWidth * H]);
    const cOut = spec.hasCellState ? io.out([B, H]) : null;
    let r: Float32Array | null = null;
    let rOff = 0;
    if (inputs.r) {
      r = io.view(inputs.r);
      rOff = num(attrs, 'rOff');
      if (inputs.bh) {
        // R = h @ wh + bh: the bias row is added here, where broadcasting costs nothing
        const bh = io.view(inputs.bh);
        const w = spec.gr * H;
        const biased = new Float32Array(B * w);
        for (let b = 0; b < B; b++)
          for (let j = 0; j < w; j++) biased[b * w + j] = r[rOff + b * w + j] + bh[j];
        r = biased;
        rOff = 0;
      }
    }
    spec.forward({
      B,
      H,
      p: io.view(inputs.p!),
      pOff: num(attrs, 'pOff'),
      r,
      rOff,
      pw: inputs.pw ? io.view(inputs.pw) : null,
      hPrev: io.view(inputs.h!),
      hPrevOff: num(attrs, 'hOff'),
      cPrev: inputs.c ? io.view(inputs.c) : null,
      cPrevOff: num(attrs, 'cOff'),
      hOut: io.view(hOut),
      hOutOff: 0,
      cOut: cOut && io.view(cOut),
      cOutOff: 0,
      cache: io.view(cache),
      cacheOff: 0,
    });
    return cOut ? [hOut, cache, cOut] : [hOut, cache];
  });

  registerHostKernel(STEP_BACKWARD, (io, inputs, attrs) => {
    const spec = attrs.cell as CellSpec;
    const B = num(attrs, 'B');
    const H = num(attrs, 'H');
    const dP = io.out([B, spec.gx * H]);
    const dhPrev = io.out([B, H]);
    const dR = spec.gr > 0 ? io.out([B, spec.gr * H]) : null;
    const dcPrev = spec.hasCellState ? io.out([B, H]) : null;
    const dPw = spec.npw > 0 ? io.out([spec.npw * H]) : null;
    const dPwView = dPw && io.view(dPw);
    // core's backward adds into dPw: start from the running sum (or zero)
    if (dPwView) {
      if (inputs.dPw) dPwView.set(io.view(inputs.dPw));
      else dPwView.fill(0);
    }
    spec.backward({
      B,
      H,
      dOut: inputs.dOut ? io.view(inputs.dOut) : null,
      dOutOff: num(attrs, 'dOutOff'),
      dhCarry: io.view(inputs.dh!),
      dhCarryOff: num(attrs, 'dhOff'),
      dcCarry: inputs.dc ? io.view(inputs.dc) : null,
      dcCarryOff: num(attrs, 'dcOff'),
      cache: io.view(inputs.cache!),
      cacheOff: num(attrs, 'cacheOff'),
      hPrev: io.view(inputs.h!),
      hPrevOff: num(attrs, 'hOff'),
      cPrev: inputs.c ? io.view(inputs.c) : null,
      cPrevOff: num(attrs, 'cOff'),
      pw: inputs.pw ? io.view(inputs.pw) : null,
      dP: io.view(dP),
      dPOff: 0,
      dR: dR && io.view(dR),
      dROff: 0,
      dhPrev: io.view(dhPrev),
      dhPrevOff: 0,
      dcPrev: dcPrev && io.view(dcPrev),
      dcPrevOff: 0,
      dPw: dPwView,
    });
    return [dP, dhPrev, ...(dR ? [dR] : []), ...(dcPrev ? [dcPrev] : []), ...(dPw ? [dPw] : [])];
  });
}

type T = tf.Tensor;

export interface FusedForwardIn {
  B: number;
  H: number;
  p: T;
  pOff: number;
  /** h @ wh (without bh when bh is given), or null. */
  r: T | null;
  rOff: number;
  bh: T | null;
  pw: T | null;
  h: T;
  hOff: number;
  c: T | null;
  cOff: number;
}

export function fusedForward(
  spec: CellSpec,
  a: FusedForwardIn,
): { h: tf.Tensor2D; c: tf.Tensor2D | null; cache: tf.Tensor2D } {
  const out = runHost(
    STEP_FORWARD,
    { p: a.p, r: a.r, bh: a.r ? a.bh : null, pw: a.pw, h: a.h, c: a.c },
    { cell: spec, B: a.B, H: a.H, pOff: a.pOff, rOff: a.rOff, hOff: a.hOff, cOff: a.cOff },
  );
  return { h: out[0] as tf.Tensor2D, cache: out[1] as tf.Tensor2D, c: (out[2] as tf.Tensor2D) ?? null };
}

export interface FusedBackwardIn {
  B: number;
  H: number;
  dh: T;
  dhOff: number;
  dc: T | null;
  dcOff: number;
  dOut: T | null;
  dOutOff: number;
  cache: T;
  cacheOff: number;
  h: T;
  hOff: number;
  c: T | null;
  cOff: number;
  pw: T | null;
  /** Running sum of the pointwise parameters' gradient (null: zero). */
  dPw: T | null;
}

export function fusedBackward(
  spec: CellSpec,
  a: FusedBackwardIn,
): {
  dP: tf.Tensor2D;
  dh: tf.Tensor2D;
  dR: tf.Tensor2D | null;
  dc: tf.Tensor2D | null;
  dPw: tf.Tensor1D | null;
} {
  const out = runHost(
    STEP_BACKWARD,
    { dh: a.dh, dc: a.dc, dOut: a.dOut, cache: a.cache, h: a.h, c: a.c, pw: a.pw, dPw: a.dPw },
    {
      cell: spec,
      B: a.B,
      H: a.H,
      dhOff: a.dhOff,
      dcOff: a.dcOff,
      dOutOff: a.dOutOff,
      cacheOff: a.cacheOff,
      hOff: a.hOff,
      cOff: a.cOff,
    },
  );
  let i = 2;
  const dR = spec.gr > 0 ? (out[i++] as tf.Tensor2D) : null;
  const dc = spec.hasCellState ? (out[i++] as tf.Tensor2D) : null;
  const dPw = spec.npw > 0 ? (out[i++] as tf.Tensor1D) : null;
  return { dP: out[0] as tf.Tensor2D, dh: out[1] as tf.Tensor2D, dR, dc, dPw };
}
