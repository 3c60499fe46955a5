import type { InitSpec } from '../cells/spec.js';
import type { Rng } from './rng.js';

/** torch's fan computation for a 2-D [rows, cols] tensor: fan_in = cols, fan_out = rows. */
function fans(shape: readonly number[]): { fanIn: number; fanOut: number } {
  if (shape.length < 2) return { fanIn: shape[0] ?? 1, fanOut: shape[0] ?? 1 };
  const receptive = shape.slice(2).reduce((a, b) => a * b, 1);
  return { fanIn: shape[1] * receptive, fanOut: shape[0] * receptive };
}

/** torch's xavier_uniform_: U(−a, a) with a = √(6 / (fan_in + fan_out)). */
export function xavierUniform(shape: readonly number[], rng: Rng): Float64Array {
  const { fanIn, fanOut } = fans(shape);
  const bound = Math.sqrt(6 / (fanIn + fanOut));
  return uniform(shape, -bound, bound, rng);
}

/** Values drawn from U(lo, hi) with `rng`. */
export function uniform(shape: readonly number[], lo: number, hi: number, rng: Rng): Float64Array {
  const out = new Float64Array(size(shape));
  for (let i = 0; i < out.length; i++) out[i] = rng.uniformIn(lo, hi);
  return out;
}

/** Every value `value`. */
export function constant(shape: readonly number[], value: number): Float64Array {
  return new Float64Array(size(shape)).fill(value);
}

/**
 * A (semi-)orthogonal [rows, cols] matrix, as torch's orthogonal_: QR of a Gaussian matrix
 * (of the transpose when rows < cols), with Q's columns signed by R's diagonal so the
 * distribution is uniform (Haar).
 */
export function orthogonal(shape: readonly number[], rng: Rng): Float64Array {
  const rows = shape[0];
  const cols = size(shape) / rows;
  const flip = rows < cols;
  const m = flip ? cols : rows;
  const n = flip ? rows : cols;
  // a: m×n column-major columns for modified Gram-Schmidt
  const q: Float64Array[] = [];
  for (let j = 0; j < n; j++) {
    const v = new Float64Array(m);
    for (let i = 0; i < m; i++) v[i] = rng.normal();
    q.push(v);
  }
  for (let j = 0; j < n; j++) {
    const v = q[j];
    for (let pass = 0; pass < 2; pass++) {
      for (let k = 0; k < j; k++) {
        const u = q[k];
        let d = 0;
        for (let i = 0; i < m; i++) d += u[i] * v[i];
        for (let i = 0; i < m; i++) v[i] -= d * u[i];
      }
    }
    let norm = 0;
    for (let i = 0; i < m; i++) norm += v[i] * v[i];
    norm = Math.sqrt(norm);
    // R's diagonal is +norm with Gram-Schmidt, so Q already carries the sign correction
    for (let i = 0; i < m; i++) v[i] /= norm;
  }
  const out = new Float64Array(rows * cols);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      if (flip) out[j * cols + i] = q[j][i];
      else out[i * cols + j] = q[j][i];
    }
  }
  return out;
}

export function size(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** Draws one parameter of a cell with `hiddenSize` units according to its init spec. */
export function initParam(
  spec: InitSpec,
  shape: readonly number[],
  hiddenSize: number,
  rng: Rng,
): Float64Array {
  switch (spec.kind) {
    case 'xavierUniform':
      return xavierUniform(shape, rng);
    case 'orthogonal':
      return orthogonal(shape, rng);
    case 'ones':
      return constant(shape, 1);
    case 'zeros':
      return constant(shape, 0);
    case 'uniformInvSqrtHidden': {
      const k = 1 / Math.sqrt(hiddenSize);
      return uniform(shape, -k, k, rng);
    }
  }
}
