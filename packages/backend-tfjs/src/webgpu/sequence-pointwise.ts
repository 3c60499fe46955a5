import type { CellWgsl } from './cell-wgsl.js';
import { each, flatEntry } from './wgsl-common.js';

type Vars = Readonly<Record<string, string>>;

/*
 * Whole-sequence kernels for a cell without a recurrent matrix (BRC): one thread per (row, unit)
 * runs its scalar recurrence over all T steps. Inputs of the next step that do not depend on the
 * recurrence (P, or cache, h_prev and dOut going backward) are loaded one step ahead, so their
 * memory latency overlaps the current step's arithmetic.
 * Uniforms: n = B·H, T, B, rev, H.
 */

const prelude = (gx: number, cw: number) => `
  let H = u.H;
  let b = idx / H;
  let j = idx % H;
  let BH = u.n;
  let GXH = H * ${gx}u;
  let CWH = H * ${cw}u;
  let rev = u.rev != 0u;`;

const off = (k: number) => (k > 0 ? `${k}u * H + ` : '');

export function pointwiseForwardCode(cw: CellWgsl, v: Vars): string {
  const { gx, npw, cacheWidth } = cw.spec;
  const pAt = (t: string, k: number) => `${v.p}[(${t} * u.B + b) * GXH + ${off(k)}j]`;
  return flatEntry(`${prelude(gx, cacheWidth)}
  var hp = ${v.hAll}[select(0u, u.T, rev) * BH + idx];
${each(npw, (k) => `  let M${k} = ${v.pw}[${off(k)}j];`)}
  let t0 = select(0u, u.T - 1u, rev);
${each(gx, (k) => `  var pf${k} = ${pAt('t0', k)};`)}
  for (var i = 0u; i < u.T; i++) {
    let t = select(i, u.T - 1u - i, rev);
    let ni = min(i + 1u, u.T - 1u);
    let tn = select(ni, u.T - 1u - ni, rev);
${each(gx, (k) => `    let P${k} = pf${k};`)}
${each(gx, (k) => `    pf${k} = ${pAt('tn', k)};`)}
    let cp = 0.0;
${cw.forward}
    ${v.hAll}[select(t + 1u, t, rev) * BH + idx] = hn;
${each(cacheWidth, (k) => `    ${v.cache}[(t * u.B + b) * CWH + ${off(k)}j] = C${k};`)}
    hp = hn;
  }`);
}

export function pointwiseBackwardCode(cw: CellWgsl, v: Vars): string {
  const { gx, npw, cacheWidth } = cw.spec;
  const cAt = (t: string, k: number) => `${v.cache}[(${t} * u.B + b) * CWH + ${off(k)}j]`;
  const dOutAt = (t: string) => (v.dOut ? `${v.dOut}[${t} * BH + idx]` : '0.0');
  return flatEntry(`${prelude(gx, cacheWidth)}
  var dh = ${v.dhN ? `${v.dhN}[idx]` : '0.0'};
${each(npw, (k) => `  let M${k} = ${v.pw}[${off(k)}j];\n  var w${k} = 0.0;`)}
  let t0 = select(u.T - 1u, 0u, rev);
${each(cacheWidth, (k) => `  var pc${k} = ${cAt('t0', k)};`)}
  var ph = ${v.hAll}[select(t0, t0 + 1u, rev) * BH + idx];
  var pd = ${dOutAt('t0')};
  for (var i = 0u; i < u.T; i++) {
    let t = select(u.T - 1u - i, i, rev);
    let ni = min(i + 1u, u.T - 1u);
    let tn = select(u.T - 1u - ni, ni, rev);
    let g = dh + pd;
    let hp = ph;
    let cp = 0.0;
    let dc = 0.0;
${each(cacheWidth, (k) => `    let C${k} = pc${k};`)}
${each(cacheWidth, (k) => `    pc${k} = ${cAt('tn', k)};`)}
    ph = ${v.hAll}[select(tn, tn + 1u, rev) * BH + idx];
    pd = ${dOutAt('tn')};
${cw.backward}
${each(gx, (k) => `    ${v.dP}[(t * u.B + b) * GXH + ${off(k)}j] = D${k};`)}
    dh = dhp;
${each(npw, (k) => `    w${k} += W${k};`)}
  }
  ${v.dh0}[idx] = dh;
${each(npw, (k) => `  ${v.partial}[b * H * ${npw}u + ${off(k)}j] = w${k};`)}`);
}

/** dPw[i] = Σ_b partial[b, i]: the rows' shares of the pointwise-parameter gradient. Uniforms n, B. */
export function pwReduceCode(v: Vars): string {
  return flatEntry(`
  var acc = 0.0;
  for (var b = 0u; b < u.B; b++) {
    acc += ${v.partial}[b * u.n + idx];
  }
  ${v.dPw}[idx] = acc;`);
}
