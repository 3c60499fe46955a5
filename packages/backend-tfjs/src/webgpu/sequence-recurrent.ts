import { InputError } from '@bistable/core';
import { type CellWgsl, readsOf } from './cell-wgsl.js';
import { each, eachOf } from './wgsl-common.js';

type Vars = Readonly<Record<string, string>>;

/**
 * Threads per workgroup (one workgroup per batch row) and units per thread. H itself is a
 * uniform: a shader serves every H up to wg·nu, so few pipelines are ever compiled (a software
 * Vulkan driver in CI takes seconds for each).
 */
export interface RowPlan {
  wg: number;
  /** Units per thread: unit j = thread + q·wg for q < nu. */
  nu: number;
}

/**
 * 64, 128 or 256 threads (whole warps / subgroups), the fewest that cover H, up to 256; larger H
 * gives each thread several units. Workgroup memory holds two copies of h (forward) or of dR_t
 * (backward: 2·gr·wg·nu floats).
 */
export function rowPlan(H: number, gr: number, storageBytes: number): RowPlan {
  const wg = H <= 64 ? 64 : H <= 128 ? 128 : 256;
  const nu = Math.ceil(H / wg);
  const need = 2 * gr * wg * nu * 4;
  if (need > storageBytes) {
    throw new InputError(
      `hidden size ${H} needs ${need} bytes of workgroup memory for the whole-sequence kernel; this device ` +
        `allows ${storageBytes}: use a smaller hidden size or cap the kernel level at 2`,
    );
  }
  return { wg, nu };
}

/** Uniforms: n = B·H, T, B, rev, H. */
const entry = (wg: number, gx: number, gr: number, cw: number) => `
@compute @workgroup_size(${wg})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>,
        @builtin(num_workgroups) nwg: vec3<u32>) {
  let b = wid.y * nwg.x + wid.x;
  if (b >= u.B) { return; }
  let H = u.H;
  let BH = u.n;
  let GXH = H * ${gx}u;
  let GRH = H * ${gr}u;
  let CWH = H * ${cw}u;
  let row = b * H;
  let rev = u.rev != 0u;`;

/** Per-thread units j (ok: j < H; threads past H only meet the barriers). */
const units = (plan: RowPlan) =>
  each(
    plan.nu,
    (q) => `  let j${q} = lid.x + ${q * plan.wg}u;
  let ok${q} = j${q} < H;`,
  );

/**
 * Independent partial sums: WGSL compilers keep float additions in source order, so a single
 * accumulator would make the per-step matvec one dependency chain H (or gr·H) FMAs long.
 * Loop bounds are uniforms: with constant trip counts LLVM-based drivers (lavapipe) unroll fully
 * and take tens of seconds to compile.
 */
const ACC = 4;

/** R_g = init_g + Σ_k h[k] · wh[k, g·H + j] for every gate g, with ACC partial sums per gate. */
function matvecForward(gr: number, wh: string, init: (g: number) => string): string {
  const term = (k: string, a: number, g: number) =>
    `r${g}_${a} += hs[hb + ${k}] * ${wh}[(${k}) * GRH + ${g > 0 ? `${g}u * H + ` : ''}j];`;
  return `${each(gr, (g) => `        var r${g}_0 = ${init(g)};\n${each(ACC - 1, (a) => `        var r${g}_${a + 1} = 0.0;`)}`)}
        let kMain = H - H % ${ACC}u;
        for (var k = 0u; k < kMain; k += ${ACC}u) {
${each(ACC, (a) => each(gr, (g) => `          ${term(a === 0 ? 'k' : `k + ${a}u`, a, g)}`))}
        }
        for (var k = kMain; k < H; k++) {
${each(gr, (g) => `          ${term('k', 0, g)}`)}
        }
${each(gr, (g) => `        let R${g} = (r${g}_0 + r${g}_1) + (r${g}_2 + r${g}_3);`)}`;
}

/** acc = init + Σ_m ds[db + m] · whT[m, j] over m < gr·H, with ACC partial sums. */
function dotBackward(whT: string, j: string, init: string): string {
  const term = (m: string, a: number) => `a${a} += ds[db + ${m}] * ${whT}[(${m}) * H + ${j}];`;
  return `        var a0 = ${init};
${each(ACC - 1, (a) => `        var a${a + 1} = 0.0;`)}
        let mMain = GRH - GRH % ${ACC}u;
        for (var m = 0u; m < mMain; m += ${ACC}u) {
${each(ACC, (a) => `          ${term(a === 0 ? 'm' : `m + ${a}u`, a)}`)}
        }
        for (var m = mMain; m < GRH; m++) {
          ${term('m', 0)}
        }
        let acc = (a0 + a1) + (a2 + a3);`;
}

/**
 * Forward over all T steps. Step t: R = h_{t-1} @ wh + bh with h_{t-1} read from workgroup
 * memory (double-buffered, so one barrier per step suffices), then the cell's pointwise math.
 * P of the next step is loaded ahead of the matvec, so its latency overlaps the matvec.
 * Uniform `zero` set: the initial h (and c) are zeros, which the kernel writes into their slot of
 * hAll (and cAll) itself. With `whT` bound, each workgroup also writes its share of wh transposed
 * there after its loop, for the backward (which would otherwise need a pass of its own for it).
 */
export function recurrentForwardCode(cw: CellWgsl, plan: RowPlan, v: Vars): string {
  const { gx, gr, npw, cacheWidth, hasCellState: withC } = cw.spec;
  const fr = cw.reads.forward;
  const fP = readsOf(fr, 'P', gx);
  const fM = readsOf(fr, 'M', npw);
  const { nu, wg } = plan;
  const cap = wg * nu;
  const pAt = (t: string, k: number, j: string) =>
    `${v.p}[(${t} * u.B + b) * GXH + ${k > 0 ? `${k}u * H + ` : ''}${j}]`;
  return `
var<workgroup> hs: array<f32, ${2 * cap}>;
${entry(wg, gx, gr, cacheWidth)}
  let s0 = select(0u, u.T, rev);
  let t0 = select(0u, u.T - 1u, rev);
${units(plan)}
${each(
  nu,
  (q) => `${withC ? `  var c${q} = 0.0;\n` : ''}${eachOf(fP, (k) => `  var pf${q}_${k} = 0.0;`)}
${each(gr, (g) => `  var bh${q}_${g} = 0.0;`)}
${eachOf(fM, (k) => `  var m${q}_${k} = 0.0;`)}
  if (ok${q}) {
    if (u.zero != 0u) {
      hs[j${q}] = 0.0;
      ${v.hAll}[s0 * BH + row + j${q}] = 0.0;
${withC ? `      ${v.cAll}[s0 * BH + row + j${q}] = 0.0;` : ''}
    } else {
      hs[j${q}] = ${v.hAll}[s0 * BH + row + j${q}];
${withC ? `      c${q} = ${v.cAll}[s0 * BH + row + j${q}];` : ''}
    }
${eachOf(fP, (k) => `    pf${q}_${k} = ${pAt('t0', k, `j${q}`)};`)}
${v.bh ? each(gr, (g) => `    bh${q}_${g} = ${v.bh}[${g > 0 ? `${g}u * H + ` : ''}j${q}];`) : ''}
${eachOf(fM, (k) => `    m${q}_${k} = ${v.pw}[${k > 0 ? `${k}u * H + ` : ''}j${q}];`)}
  }`,
)}
  workgroupBarrier();
  var cur = 0u;
  for (var i = 0u; i < u.T; i++) {
    let t = select(i, u.T - 1u - i, rev);
    let ni = min(i + 1u, u.T - 1u);
    let tn = select(ni, u.T - 1u - ni, rev);
    let outS = select(t + 1u, t, rev);
    let hb = cur * H;
    let nb = H - hb;
${each(
  nu,
  (q) => `    if (ok${q}) {
      let j = j${q};
${eachOf(fP, (k) => `      let P${k} = pf${q}_${k};`)}
${eachOf(fP, (k) => `      pf${q}_${k} = ${pAt('tn', k, 'j')};`)}
${matvecForward(gr, v.wh, (g) => `bh${q}_${g}`)}
${eachOf(fM, (k) => `      let M${k} = m${q}_${k};`)}
      let hp = hs[hb + j];
${withC ? `      let cp = c${q};` : ''}
${cw.forward}
      hs[nb + j] = hn;
      ${v.hAll}[outS * BH + row + j] = hn;
${withC ? `      ${v.cAll}[outS * BH + row + j] = cn;\n      c${q} = cn;` : ''}
${each(cacheWidth, (k) => `      ${v.cache}[(t * u.B + b) * CWH + ${k > 0 ? `${k}u * H + ` : ''}j] = C${k};`)}
    }`,
)}
    workgroupBarrier();
    cur = 1u - cur;
  }
${v.whT ? transposeShare(wg, v.wh, v.whT) : ''}
}`;
}

/**
 * This workgroup's share of wh [H, gr·H] transposed into whT [gr·H, H] (the start of the
 * backward's aux, see auxLayout): the rows split the matrix's elements evenly between them.
 */
const transposeShare = (wg: number, wh: string, whT: string) => `
  let WN = GRH * H;
  let share = (WN + u.B - 1u) / u.B;
  let e1 = min(b * share + share, WN);
  for (var e = b * share + lid.x; e < e1; e += ${wg}u) {
    ${whT}[e] = ${wh}[(e % H) * GRH + e / H];
  }`;

/**
 * Layout of the backward's scratch `aux`, in floats: whT = wh transposed [gr·H, H], then dhN, dcN
 * and dc0, each [B, H], then the pointwise parameters [npw·H] and each row's share of their
 * gradient [B, npw·H]. Operands that would take the backward past the device's storage bindings
 * per stage (8 by default: tfjs-backend-webgpu does not raise it) are staged in these slots
 * instead of bound (see Places).
 */
export function auxLayout(gr: number, npw: number, H: number, B: number) {
  const dhN = gr * H * H;
  const dcN = dhN + B * H;
  const dc0 = dcN + B * H;
  const pw = dc0 + B * H;
  const partial = pw + npw * H;
  return { dhN, dcN, dc0, pw, partial, length: partial + B * npw * H };
}

/** The same offsets as WGSL locals (WT = dhN; uniforms n = B·H and H). */
export const auxOffsets = (gr: number, npw: number) => `
  let WT = H * ${gr}u * H;
  let PW = WT + 3u * BH;
  let PART = PW + ${npw}u * H;`;

/**
 * Where the backward finds each optional operand: a binding of its own ('direct'), its slot in
 * aux ('aux': copied there before, or copied or reduced from there after), or nowhere (null:
 * absent, or not wanted). `w`, the rows' shares of the pointwise-parameter gradient: 'direct' is
 * a binding `partial` laid out as aux's slot (dPw itself when B = 1); the pointwise kernel has
 * 'fused' too (sequence-pointwise.ts).
 */
export interface Places {
  dhN: 'direct' | 'aux' | null;
  dcN: 'direct' | 'aux' | null;
  pw: 'direct' | 'aux' | null;
  dc0: 'direct' | 'aux' | null;
  w: 'direct' | 'aux' | 'fused' | null;
}

/** A short tag of the places, for pipeline keys. */
export const placesKey = (p: Places): string =>
  [p.dhN, p.dcN, p.pw, p.dc0, p.w].map((x) => (x === null ? '-' : x[0])).join('');

/** WGSL reads and writes of the optional operands at their places (rowJ: `b·H + j`). */
export function placed(p: Places, v: Vars, npw: number) {
  const off = (k: number) => (k > 0 ? `${k}u * H + ` : '');
  return {
    dhN: (rowJ: string) =>
      p.dhN === 'aux' ? `${v.aux}[WT + ${rowJ}]` : p.dhN === 'direct' ? `${v.dhN}[${rowJ}]` : '0.0',
    dcN: (rowJ: string) =>
      p.dcN === 'aux' ? `${v.aux}[WT + BH + ${rowJ}]` : p.dcN === 'direct' ? `${v.dcN}[${rowJ}]` : '0.0',
    pw: (k: number, j: string) =>
      p.pw === 'aux' ? `${v.aux}[PW + ${off(k)}${j}]` : `${v.pw}[${off(k)}${j}]`,
    /** The statement storing dc0 (none when not wanted). */
    dc0: (rowJ: string, value: string) =>
      p.dc0 === 'aux'
        ? `${v.aux}[WT + 2u * BH + ${rowJ}] = ${value};`
        : p.dc0 === 'direct'
          ? `${v.dc0}[${rowJ}] = ${value};`
          : '',
    /** Row b's share of parameter k's gradient, unit j. */
    w: (k: number, b: string, j: string) =>
      p.w === 'aux'
        ? `${v.aux}[PART + ${b} * H * ${npw}u + ${off(k)}${j}]`
        : `${v.partial}[${b} * H * ${npw}u + ${off(k)}${j}]`,
  };
}

/**
 * One thread per aux element up to the end of the pointwise parameters: transposes wh and stages
 * dhN, dcN and (npw > 0) the pointwise parameters. The dc0 slot is left to the backward. Only
 * for a backward whose wh has no transposed copy from a forward (sequence-kernels.ts).
 */
export function backwardPrepCode(gr: number, npw: number, v: Vars): string {
  return `
@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>,
        @builtin(num_workgroups) nwg: vec3<u32>) {
  let idx = (wid.y * nwg.x + wid.x) * 64u + lid.x;
  let H = u.H;
  let BH = u.n;
  let GRH = H * ${gr}u;
${auxOffsets(gr, npw)}
  if (idx < WT) {
${
  gr > 0
    ? `    let m = idx / H;
    let k = idx % H;
    ${v.aux}[idx] = ${v.wh}[k * GRH + m];`
    : ''
}
  } else if (idx < WT + BH) {
    ${v.aux}[idx] = ${v.dhN ? `${v.dhN}[idx - WT]` : '0.0'};
  } else if (idx < WT + 2u * BH) {
    ${v.aux}[idx] = ${v.dcN ? `${v.dcN}[idx - WT - BH]` : '0.0'};
  } else if (idx >= PW && idx < PART) {
    ${npw > 0 ? `${v.aux}[idx] = ${v.pw}[idx - PW];` : ''}
  }
}`;
}

/**
 * Backward over all T steps, in the reverse of the forward order. Step t: the pointwise backward
 * gives dP_t, dR_t and the pointwise part of dL/dh_{t-1}; dR_t goes to workgroup memory
 * (double-buffered); after the barrier each thread adds Σ_m dR_t[m] · wh[j, m] for its units,
 * reading the transposed copy whT (at the start of aux) so that neighbouring threads read
 * neighbouring addresses. The cache, h_{t-1}, c_{t-1} and dOut of the next step are loaded
 * ahead. dhN, dcN and the pointwise parameters are read, and dc0 and the rows' shares of the
 * pointwise-parameter gradient (summed over the steps in registers) written, at their `places`.
 */
export function recurrentBackwardCode(cw: CellWgsl, plan: RowPlan, v: Vars, places: Places): string {
  const { gx, gr, npw, cacheWidth, hasCellState: withC } = cw.spec;
  const br = cw.reads.backward;
  const bC = readsOf(br, 'C', cacheWidth);
  const bM = readsOf(br, 'M', npw);
  const [readsG, readsDc, readsHp, readsCp] = ['g', 'dc', 'hp', 'cp'].map((n) => br.has(n));
  const wantW = places.w !== null;
  const at = placed(places, v, npw);
  const { nu, wg } = plan;
  const cap = wg * nu;
  const off = (k: number) => (k > 0 ? `${k}u * H + ` : '');
  const loads = (q: number, t: string, prev: string, j: string) => `
${eachOf(bC, (k) => `      pc${q}_${k} = ${v.cache}[(${t} * u.B + b) * CWH + ${off(k)}${j}];`)}
${readsHp ? `      ph${q} = ${v.hAll}[${prev} * BH + row + ${j}];` : ''}
${readsCp ? `      pcp${q} = ${v.cAll}[${prev} * BH + row + ${j}];` : ''}
${v.dOut ? `      pd${q} = ${v.dOut}[${t} * BH + row + ${j}];` : ''}`;
  return `
var<workgroup> ds: array<f32, ${2 * gr * cap}>;
${entry(wg, gx, gr, cacheWidth)}
${auxOffsets(gr, npw)}
  let t0 = select(u.T - 1u, 0u, rev);
  let p0 = select(t0, t0 + 1u, rev);
${units(plan)}
${each(
  nu,
  (q) => `  var dh${q} = 0.0;
  var dc${q} = 0.0;
  var dhp${q} = 0.0;
${eachOf(bC, (k) => `  var pc${q}_${k} = 0.0;`)}
  var ph${q} = 0.0;
  var pcp${q} = 0.0;
  var pd${q} = 0.0;
${eachOf(bM, (k) => `  var m${q}_${k} = 0.0;`)}
${wantW ? each(npw, (k) => `  var w${q}_${k} = 0.0;`) : ''}
  if (ok${q}) {
    dh${q} = ${at.dhN(`row + j${q}`)};
${withC ? `    dc${q} = ${at.dcN(`row + j${q}`)};` : ''}
${eachOf(bM, (k) => `    m${q}_${k} = ${at.pw(k, `j${q}`)};`)}
${loads(q, 't0', 'p0', `j${q}`)}
  }`,
)}
  var cur = 0u;
  for (var i = 0u; i < u.T; i++) {
    let t = select(u.T - 1u - i, i, rev);
    let ni = min(i + 1u, u.T - 1u);
    let tn = select(u.T - 1u - ni, ni, rev);
    let pn = select(tn, tn + 1u, rev);
    let db = cur * GRH;
${each(
  nu,
  (q) => `    if (ok${q}) {
      let j = j${q};
${readsG ? `      let g = dh${q} + pd${q};` : ''}
${readsHp ? `      let hp = ph${q};` : ''}
${readsCp ? `      let cp = pcp${q};` : ''}
${readsDc ? `      let dc = dc${q};` : ''}
${eachOf(bC, (k) => `      let C${k} = pc${q}_${k};`)}
${eachOf(bM, (k) => `      let M${k} = m${q}_${k};`)}
${loads(q, 'tn', 'pn', 'j')}
${cw.backward}
${each(gx, (k) => `      ${v.dP}[(t * u.B + b) * GXH + ${off(k)}j] = D${k};`)}
${each(gr, (k) => `      ${v.dR}[(t * u.B + b) * GRH + ${off(k)}j] = E${k};\n      ds[db + ${off(k)}j] = E${k};`)}
      dhp${q} = dhp;
${withC ? `      dc${q} = dcp;` : ''}
${wantW ? each(npw, (k) => `      w${q}_${k} += W${k};`) : ''}
    }`,
)}
    workgroupBarrier();
${each(
  nu,
  (q) => `    if (ok${q}) {
${dotBackward(v.aux, `j${q}`, `dhp${q}`)}
      dh${q} = acc;
    }`,
)}
    cur = 1u - cur;
  }
${each(
  nu,
  (q) => `  if (ok${q}) {
    ${v.dh0}[row + j${q}] = dh${q};
${withC ? `    ${at.dc0(`row + j${q}`, `dc${q}`)}` : ''}
${wantW ? each(npw, (k) => `    ${at.w(k, 'b', `j${q}`)} = w${q}_${k};`) : ''}
  }`,
)}
}`;
}
