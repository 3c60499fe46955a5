import { type CellWgsl, readsOf } from './cell-wgsl.js';
import { memberIndex } from './member-kernels.js';
import { auxOffsets, type Places, placed, usesAux } from './sequence-recurrent.js';
import { each, eachOf, flatEntry } from './wgsl-common.js';

type Vars = Readonly<Record<string, string>>;

/*
 * Whole-sequence kernels for a cell without a recurrent matrix (BRC): one thread per (row, unit)
 * runs its scalar recurrence over all T steps. Inputs of the next step that do not depend on the
 * recurrence (P, or cache, h_prev and dOut going backward) are loaded one step ahead, so their
 * memory latency overlaps the current step's arithmetic.
 * Uniforms: n = B·H, T, B, rev, H, zero (forward), JW (backward, see FUSED_WG).
 */

const prelude = (gx: number, cw: number) => `
  let H = u.H;
  let BH = u.n;
  let GXH = H * ${gx}u;
  let CWH = H * ${cw}u;
  let rev = u.rev != 0u;`;

const flatUnit = `
  let b = idx / H;
  let j = idx % H;`;

const off = (k: number) => (k > 0 ? `${k}u * H + ` : '');

/**
 * Threads per workgroup of the backward that sums the pointwise-parameter gradient over the rows
 * itself (Places.w 'fused'): a workgroup takes all B ≤ FUSED_WG rows of JW = ⌊FUSED_WG / B⌋
 * units, thread (b, j) at lid = b·JW + (j mod JW), and adds the rows' shares in workgroup memory.
 */
export const FUSED_WG = 256;

export function pointwiseForwardCode(
  cw: CellWgsl,
  v: Vars,
  members: readonly string[] | null = null,
): string {
  const { gx, npw, cacheWidth, hasCellState: withC } = cw.spec;
  const fr = cw.reads.forward;
  const fP = readsOf(fr, 'P', gx);
  const fM = readsOf(fr, 'M', npw);
  const pAt = (t: string, k: number) => `${v.p}[(${t} * u.B + b) * GXH + ${off(k)}j]`;
  return flatEntry(
    `${prelude(gx, cacheWidth)}${flatUnit}
  let s0 = select(0u, u.T, rev);
  var hp = 0.0;
${withC ? '  var cp = 0.0;' : ''}
  if (u.zero != 0u) {
    ${v.hAll}[s0 * BH + idx] = 0.0;
${withC ? `    ${v.cAll}[s0 * BH + idx] = 0.0;` : ''}
  } else {
    hp = ${v.hAll}[s0 * BH + idx];
${withC ? `    cp = ${v.cAll}[s0 * BH + idx];` : ''}
  }
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
  }`,
    members,
  );
}

/**
 * dhN, dcN and the pointwise parameters are read, dc0 and the rows' shares of the
 * pointwise-parameter gradient written, at their `places` (sequence-recurrent.ts; aux is laid out
 * by auxLayout with gr = 0). Places.w 'fused': the kernel sums the shares over the rows itself and
 * writes dPw (bound as `dPw`), see FUSED_WG; otherwise one thread per (row, unit) in flat order.
 */
export function pointwiseBackwardCode(
  cw: CellWgsl,
  v: Vars,
  places: Places,
  members: readonly string[] | null = null,
): string {
  const { gx, npw, cacheWidth, hasCellState: withC } = cw.spec;
  const br = cw.reads.backward;
  const bC = readsOf(br, 'C', cacheWidth);
  const bM = readsOf(br, 'M', npw);
  const [readsG, readsDc, readsHp, readsCp] = ['g', 'dc', 'hp', 'cp'].map((n) => br.has(n));
  const wantW = places.w !== null;
  const fused = places.w === 'fused';
  const at = placed(places, v, npw);
  const cAt = (t: string, k: number) => `${v.cache}[(${t} * u.B + b) * CWH + ${off(k)}j]`;
  const dOutAt = (t: string) => (v.dOut ? `${v.dOut}[${t} * BH + idx]` : '0.0');
  // h_{t-1} and c_{t-1} of step t sit at this slot of hAll and cAll
  const prev = (t: string) => `select(${t}, ${t} + 1u, rev) * BH + idx`;
  const body = `
  var dh = ${at.dhN('idx')};
${withC ? `  var dcv = ${at.dcN('idx')};` : ''}
${eachOf(bM, (k) => `  let M${k} = ${at.pw(k, 'j')};`)}
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
${withC ? `  ${at.dc0('idx', 'dcv')}` : ''}`;
  const offsets = usesAux(places) ? auxOffsets(0, npw) : '';
  if (!fused) {
    return flatEntry(
      `${prelude(gx, cacheWidth)}${flatUnit}${offsets}
${wantW ? each(npw, (k) => `  var w${k} = 0.0;`) : ''}
${body}
${wantW ? each(npw, (k) => `  ${at.w(k, 'b', 'j')} = w${k};`) : ''}`,
      members,
    );
  }
  // the shares in workgroup memory, then the threads of row 0 add them up in row order (as the
  // separate reduce does: the same sums, bit for bit)
  return `
var<workgroup> ws: array<f32, ${npw * FUSED_WG}>;

@compute @workgroup_size(${FUSED_WG})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>,
        @builtin(num_workgroups) nwg: vec3<u32>) {
${prelude(gx, cacheWidth)}${offsets}
  let JW = u.JW;
  let b = lid.x / JW;
  let jl = lid.x % JW;
${
  members
    ? `${memberIndex('wid.y * nwg.x + wid.x', 'u.NJ', 'jb', members)}
  let j = jb * JW + jl;`
    : '  let j = (wid.y * nwg.x + wid.x) * JW + jl;'
}
  let idx = b * H + j;
${each(npw, (k) => `  var w${k} = 0.0;`)}
  if (b < u.B && j < H) {
${body}
  }
${each(npw, (k) => `  ws[${k * FUSED_WG}u + lid.x] = w${k};`)}
  workgroupBarrier();
  if (b == 0u && j < H) {
${each(
  npw,
  (k) => `    var acc${k} = 0.0;
    for (var r = 0u; r < u.B; r++) {
      acc${k} += ws[${k * FUSED_WG}u + r * JW + jl];
    }
    ${v.dPw}[${off(k)}j] = acc${k};`,
)}
  }
}`;
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
