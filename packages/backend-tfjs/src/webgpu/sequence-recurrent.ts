import { InputError } from '@bistable/core';
import type { CellWgsl } from './cell-wgsl.js';
import { each } from './wgsl-common.js';

type Vars = Readonly<Record<string, string>>;

/** Threads per workgroup (one workgroup per batch row) and units per thread. */
export interface RowPlan {
  H: number;
  wg: number;
  /** Units per thread: unit j = thread + q·wg for q < nu. */
  nu: number;
}

const MAX_WG = 256;

/**
 * Up to 256 threads, a multiple of 32 (a warp / subgroup); larger H gives each thread several
 * units. Workgroup memory holds two copies of h (forward) or of dR_t (backward, 2·gr·H floats).
 */
export function rowPlan(H: number, gr: number, storageBytes: number): RowPlan {
  const wg = Math.min(MAX_WG, Math.ceil(H / 32) * 32);
  const need = 2 * gr * H * 4;
  if (need > storageBytes) {
    throw new InputError(
      `hidden size ${H} needs ${need} bytes of workgroup memory for the whole-sequence kernel; this device ` +
        `allows ${storageBytes}: use a smaller hidden size or cap the kernel level at 2`,
    );
  }
  return { H, wg, nu: Math.ceil(H / wg) };
}

const entry = (wg: number) => `
@compute @workgroup_size(${wg})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>,
        @builtin(num_workgroups) nwg: vec3<u32>) {
  let b = wid.y * nwg.x + wid.x;
  if (b >= u.B) { return; }
  let BH = u.n;
  let rev = u.rev != 0u;`;

/** Per-thread unit indices: j (may be ≥ H on the last threads) and jj (clamped, for loads). */
const units = (plan: RowPlan) =>
  each(
    plan.nu,
    (q) => `  let j${q} = lid.x + ${q * plan.wg}u;
  let ok${q} = j${q} < ${plan.H}u;
  let jj${q} = min(j${q}, ${plan.H - 1}u);`,
  );

/**
 * Independent partial sums: WGSL compilers keep float additions in source order, so a single
 * accumulator would make the per-step matvec one dependency chain H (or gr·H) FMAs long.
 * The loop bounds come from the uniform u.H rather than a constant: with a constant trip count
 * LLVM-based drivers (lavapipe) unroll the loops fully and take tens of seconds to compile.
 */
const ACC = 4;

/** R_g = init_g + Σ_k h[k] · wh[k, g·H + jj] for every gate g, with ACC partial sums per gate. */
function matvecForward(H: number, gr: number, wh: string, jj: string, init: (g: number) => string): string {
  const grH = gr * H;
  const term = (k: string, a: number, g: number) =>
    `r${g}_${a} += hs[hb + ${k}] * ${wh}[(${k}) * ${grH}u + ${g * H}u + ${jj}];`;
  return `${each(gr, (g) => `      var r${g}_0 = ${init(g)};\n${each(ACC - 1, (a) => `      var r${g}_${a + 1} = 0.0;`)}`)}
      let kMain = u.H - u.H % ${ACC}u;
      for (var k = 0u; k < kMain; k += ${ACC}u) {
${each(ACC, (a) => each(gr, (g) => `        ${term(a === 0 ? 'k' : `k + ${a}u`, a, g)}`))}
      }
      for (var k = kMain; k < u.H; k++) {
${each(gr, (g) => `        ${term('k', 0, g)}`)}
      }
${each(gr, (g) => `      let R${g} = (r${g}_0 + r${g}_1) + (r${g}_2 + r${g}_3);`)}`;
}

/** acc = init + Σ_m ds[db + m] · whT[m, jj] over m < gr·H (= u.H · gr), with ACC partial sums. */
function dotBackward(gr: number, H: number, whT: string, jj: string, init: string): string {
  const term = (m: string, a: number) => `a${a} += ds[db + ${m}] * ${whT}[(${m}) * ${H}u + ${jj}];`;
  return `      var a0 = ${init};
${each(ACC - 1, (a) => `      var a${a + 1} = 0.0;`)}
      let mAll = u.H * ${gr}u;
      let mMain = mAll - mAll % ${ACC}u;
      for (var m = 0u; m < mMain; m += ${ACC}u) {
${each(ACC, (a) => `        ${term(a === 0 ? 'm' : `m + ${a}u`, a)}`)}
      }
      for (var m = mMain; m < mAll; m++) {
        ${term('m', 0)}
      }
      let acc = (a0 + a1) + (a2 + a3);`;
}

/**
 * Forward over all T steps. Step t: R = h_{t-1} @ wh + bh with h_{t-1} read from workgroup
 * memory (double-buffered, so one barrier per step suffices), then the cell's pointwise math.
 * P of the next step is loaded ahead of the matvec.
 */
export function recurrentForwardCode(cw: CellWgsl, plan: RowPlan, v: Vars): string {
  const { gx, gr, cacheWidth, hasCellState: lstm } = cw.spec;
  const { H, nu } = plan;
  const pAt = (t: string, k: number, jj: string) =>
    `${v.p}[(${t} * u.B + b) * ${gx * H}u + ${k * H}u + ${jj}]`;
  const row = `b * ${H}u`;
  return `
var<workgroup> hs: array<f32, ${2 * H}>;
${entry(plan.wg)}
  let s0 = select(0u, u.T, rev);
  let t0 = select(0u, u.T - 1u, rev);
${units(plan)}
${each(
  nu,
  (q) => `  if (ok${q}) { hs[j${q}] = ${v.hAll}[s0 * BH + ${row} + j${q}]; }
${lstm ? `  var c${q} = ${v.cAll}[s0 * BH + ${row} + jj${q}];` : ''}
${each(gx, (k) => `  var pf${q}_${k} = ${pAt('t0', k, `jj${q}`)};`)}
${each(gr, (g) => `  let bh${q}_${g} = ${v.bh ? `${v.bh}[${g * H}u + jj${q}]` : '0.0'};`)}`,
)}
  workgroupBarrier();
  var cur = 0u;
  for (var i = 0u; i < u.T; i++) {
    let t = select(i, u.T - 1u - i, rev);
    let ni = min(i + 1u, u.T - 1u);
    let tn = select(ni, u.T - 1u - ni, rev);
    let outS = select(t + 1u, t, rev);
    let hb = cur * ${H}u;
    let nb = ${H}u - hb;
${each(
  nu,
  (q) => `    {
      let j = j${q};
      let jj = jj${q};
${each(gx, (k) => `      let P${k} = pf${q}_${k};`)}
${each(gx, (k) => `      pf${q}_${k} = ${pAt('tn', k, 'jj')};`)}
${matvecForward(H, gr, v.wh, 'jj', (g) => `bh${q}_${g}`)}
      let hp = hs[hb + jj];
      let cp = ${lstm ? `c${q}` : '0.0'};
${cw.forward}
      if (ok${q}) {
        hs[nb + j] = hn;
        ${v.hAll}[outS * BH + ${row} + j] = hn;
${lstm ? `        ${v.cAll}[outS * BH + ${row} + j] = cn;` : ''}
${each(cacheWidth, (k) => `        ${v.cache}[(t * u.B + b) * ${cacheWidth * H}u + ${k * H}u + j] = C${k};`)}
      }
${lstm ? `      c${q} = cn;` : ''}
    }`,
)}
    workgroupBarrier();
    cur = 1u - cur;
  }
}`;
}

/**
 * Layout of the backward's private scratch `aux`: whT = wh transposed [gr·H, H], then dhN, dcN
 * (zeros where absent) and the dc0 result, each [B, H]. Staging these in one buffer keeps the
 * LSTM backward within 8 storage bindings (WebGPU's default per-stage limit, which tfjs-backend-
 * webgpu does not raise).
 */
export const auxLength = (gr: number, H: number, B: number): number => gr * H * H + 3 * B * H;

/** One thread per aux element up to the dc0 slot: transposes wh and stages dhN and dcN. */
export function backwardPrepCode(H: number, gr: number, v: Vars): string {
  const grH = gr * H;
  const WT = grH * H;
  return `
@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>,
        @builtin(num_workgroups) nwg: vec3<u32>) {
  let idx = (wid.y * nwg.x + wid.x) * 64u + lid.x;
  let BH = u.n;
  if (idx < ${WT}u) {
    let m = idx / ${H}u;
    let k = idx % ${H}u;
    ${v.aux}[idx] = ${v.wh}[k * ${grH}u + m];
  } else if (idx < ${WT}u + BH) {
    ${v.aux}[idx] = ${v.dhN ? `${v.dhN}[idx - ${WT}u]` : '0.0'};
  } else if (idx < ${WT}u + 2u * BH) {
    ${v.aux}[idx] = ${v.dcN ? `${v.dcN}[idx - ${WT}u - BH]` : '0.0'};
  }
}`;
}

/**
 * Backward over all T steps, in the reverse of the forward order. Step t: the pointwise backward
 * gives dP_t, dR_t and the pointwise part of dL/dh_{t-1}; dR_t goes to workgroup memory
 * (double-buffered); after the barrier each thread adds Σ_m dR_t[m] · wh[j, m] for its units,
 * reading the transposed copy whT so that neighbouring threads read neighbouring addresses.
 * The cache, h_{t-1}, c_{t-1} and dOut of the next step are loaded ahead.
 */
export function recurrentBackwardCode(cw: CellWgsl, plan: RowPlan, v: Vars): string {
  const { gx, gr, cacheWidth, hasCellState: lstm } = cw.spec;
  const { H, nu } = plan;
  const grH = gr * H;
  const WT = grH * H;
  const row = `b * ${H}u`;
  const cAt = (t: string, k: number, jj: string) =>
    `${v.cache}[(${t} * u.B + b) * ${cacheWidth * H}u + ${k * H}u + ${jj}]`;
  const loads = (q: number, t: string, prev: string, jj: string, decl: string) => `
${each(cacheWidth, (k) => `  ${decl}pc${q}_${k} = ${cAt(t, k, jj)};`)}
  ${decl}ph${q} = ${v.hAll}[${prev} * BH + ${row} + ${jj}];
${lstm ? `  ${decl}pcp${q} = ${v.cAll}[${prev} * BH + ${row} + ${jj}];` : ''}
  ${decl}pd${q} = ${v.dOut ? `${v.dOut}[${t} * BH + ${row} + ${jj}]` : '0.0'};`;
  return `
var<workgroup> ds: array<f32, ${2 * grH}>;
${entry(plan.wg)}
  let t0 = select(u.T - 1u, 0u, rev);
  let p0 = select(t0, t0 + 1u, rev);
${units(plan)}
${each(
  nu,
  (q) => `  var dh${q} = ${v.aux}[${WT}u + ${row} + jj${q}];
${lstm ? `  var dc${q} = ${v.aux}[${WT}u + BH + ${row} + jj${q}];` : ''}
  var dhp${q} = 0.0;
${loads(q, 't0', 'p0', `jj${q}`, 'var ')}`,
)}
  var cur = 0u;
  for (var i = 0u; i < u.T; i++) {
    let t = select(u.T - 1u - i, i, rev);
    let ni = min(i + 1u, u.T - 1u);
    let tn = select(u.T - 1u - ni, ni, rev);
    let pn = select(tn, tn + 1u, rev);
    let db = cur * ${grH}u;
${each(
  nu,
  (q) => `    {
      let j = j${q};
      let jj = jj${q};
      let g = dh${q} + pd${q};
      let hp = ph${q};
      let cp = ${lstm ? `pcp${q}` : '0.0'};
      let dc = ${lstm ? `dc${q}` : '0.0'};
${each(cacheWidth, (k) => `      let C${k} = pc${q}_${k};`)}
${loads(q, 'tn', 'pn', 'jj', '')}
${cw.backward}
      if (ok${q}) {
${each(gx, (k) => `        ${v.dP}[(t * u.B + b) * ${gx * H}u + ${k * H}u + j] = D${k};`)}
${each(gr, (k) => `        ${v.dR}[(t * u.B + b) * ${grH}u + ${k * H}u + j] = E${k};\n        ds[db + ${k * H}u + j] = E${k};`)}
      }
      dhp${q} = dhp;
${lstm ? `      dc${q} = dcp;` : ''}
    }`,
)}
    workgroupBarrier();
${each(
  nu,
  (q) => `    {
${dotBackward(gr, H, v.aux, `jj${q}`, `dhp${q}`)}
      dh${q} = acc;
    }`,
)}
    cur = 1u - cur;
  }
${each(
  nu,
  (q) => `  if (ok${q}) {
    ${v.dh0}[${row} + j${q}] = dh${q};
${lstm ? `    ${v.aux}[${WT}u + 2u * BH + ${row} + j${q}] = dc${q};` : ''}
  }`,
)}
}`;
}
