import { type CellWgsl, readsOf } from './cell-wgsl.js';
import { each, eachOf, flatEntry } from './wgsl-common.js';

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
  const { gx, npw, cacheWidth, hasCellState: withC } = cw.spec;
  const fr = cw.reads.forward;
  const fP = readsOf(fr, 'P', gx);
  const fM = readsOf(fr, 'M', npw);
  const pAt = (t: string, k: number) => `${v.p}[(${t} * u.B + b) * GXH + ${off(k)}j]`;
  return flatEntry(`${prelude(gx, cacheWidth)}
  let s0 = select(0u, u.T, rev);
  var hp = ${v.hAll}[s0 * BH + idx];
${withC ? `  var cp = ${v.cAll}[s0 * BH + idx];` : ''}
${eachOf(fM, (k) => `  let M${k} = ${v.pw}[${off(k)}j];`)}
  let t0 = select(0u, u.T - 1u, rev);
${eachOf(fP, (k) => `  var pf${k} = ${pAt('t0', k)};`)}
  for (var i = 0u; i < u.T; i++) {
    let t = select(i, u.T - 1u - i, rev);
    let ni = min(i + 1u, u.T - 1u);
    let tn = select(ni, u.T - 1u - ni, rev);
    let outS = select(t + 1u, t, rev);
${eachOf(fP, (k) => `    let P${k} = pf${k};`)}
${eachOf(fP, (k) => `    pf${k} = ${pAt('tn', k)};`)}
${cw.forward}
    ${v.hAll}[outS * BH + idx] = hn;
${withC ? `    ${v.cAll}[outS * BH + idx] = cn;\n    cp = cn;` : ''}
${each(cacheWidth, (k) => `    ${v.cache}[(t * u.B + b) * CWH + ${off(k)}j] = C${k};`)}
    hp = hn;
  }`);
}

/**
 * `staged` (cells with a c, whose direct bindings would pass 8): dhN, dcN and the pointwise
 * parameters come from `aux` (sequence-recurrent.ts's layout with gr = 0, filled by its prep
 * kernel), dc0 and the rows' parameter-gradient shares go there too. Otherwise they have
 * bindings of their own (dhN, pw, partial). `wantW`: write those shares (dPw is wanted).
 */
export function pointwiseBackwardCode(cw: CellWgsl, v: Vars, staged: boolean, wantW: boolean): string {
  const { gx, npw, cacheWidth, hasCellState: withC } = cw.spec;
  const br = cw.reads.backward;
  const bC = readsOf(br, 'C', cacheWidth);
  const bM = readsOf(br, 'M', npw);
  const [readsG, readsDc, readsHp, readsCp] = ['g', 'dc', 'hp', 'cp'].map((n) => br.has(n));
  const cAt = (t: string, k: number) => `${v.cache}[(${t} * u.B + b) * CWH + ${off(k)}j]`;
  const dOutAt = (t: string) => (v.dOut ? `${v.dOut}[${t} * BH + idx]` : '0.0');
  const dhInit = staged ? `${v.aux}[idx]` : v.dhN ? `${v.dhN}[idx]` : '0.0';
  const mAt = (k: number) => (staged ? `${v.aux}[PW + ${off(k)}j]` : `${v.pw}[${off(k)}j]`);
  const wAt = (k: number) => `${staged ? `${v.aux}[PART + ` : `${v.partial}[`}b * H * ${npw}u + ${off(k)}j]`;
  // h_{t-1} and c_{t-1} of step t sit at this slot of hAll and cAll
  const prev = (t: string) => `select(${t}, ${t} + 1u, rev) * BH + idx`;
  return flatEntry(`${prelude(gx, cacheWidth)}
${staged ? `  let PW = 3u * BH;\n  let PART = PW + ${npw}u * H;` : ''}
  var dh = ${dhInit};
${withC ? `  var dcv = ${v.aux}[BH + idx];` : ''}
${eachOf(bM, (k) => `  let M${k} = ${mAt(k)};`)}
${wantW ? each(npw, (k) => `  var w${k} = 0.0;`) : ''}
  let t0 = select(u.T - 1u, 0u, rev);
${eachOf(bC, (k) => `  var pc${k} = ${cAt('t0', k)};`)}
${readsHp ? `  var ph = ${v.hAll}[${prev('t0')}];` : ''}
${readsCp ? `  var pcp = ${v.cAll}[${prev('t0')}];` : ''}
  var pd = ${dOutAt('t0')};
  for (var i = 0u; i < u.T; i++) {
    let t = select(u.T - 1u - i, i, rev);
    let ni = min(i + 1u, u.T - 1u);
    let tn = select(u.T - 1u - ni, ni, rev);
${readsG ? '    let g = dh + pd;' : ''}
${readsHp ? '    let hp = ph;' : ''}
${readsCp ? '    let cp = pcp;' : ''}
${readsDc ? '    let dc = dcv;' : ''}
${eachOf(bC, (k) => `    let C${k} = pc${k};`)}
${eachOf(bC, (k) => `    pc${k} = ${cAt('tn', k)};`)}
${readsHp ? `    ph = ${v.hAll}[${prev('tn')}];` : ''}
${readsCp ? `    pcp = ${v.cAll}[${prev('tn')}];` : ''}
    pd = ${dOutAt('tn')};
${cw.backward}
${each(gx, (k) => `    ${v.dP}[(t * u.B + b) * GXH + ${off(k)}j] = D${k};`)}
    dh = dhp;
${withC ? '    dcv = dcp;' : ''}
${wantW ? each(npw, (k) => `    w${k} += W${k};`) : ''}
  }
  ${v.dh0}[idx] = dh;
${withC ? `  ${v.aux}[2u * BH + idx] = dcv;` : ''}
${wantW ? each(npw, (k) => `  ${wAt(k)} = w${k};`) : ''}`);
}

/**
 * dPw[i] = Σ_b partial[off + b·n + i] (or += with `accumulate`): the rows' shares of the
 * pointwise-parameter gradient. Uniforms n, B, off.
 */
export function pwReduceCode(v: Vars, accumulate = false): string {
  return flatEntry(`
  var acc = 0.0;
  for (var b = 0u; b < u.B; b++) {
    acc += ${v.partial}[u.off + b * u.n + idx];
  }
  ${v.dPw}[idx] ${accumulate ? '+=' : '='} acc;`);
}
