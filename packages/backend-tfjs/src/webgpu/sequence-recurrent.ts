import { InputError } from '@bistable/core';
import { type CellWgsl, readsOf } from './cell-wgsl.js';
import { memberIndex } from './member-kernels.js';
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

/**
 * How many threads share each unit's recurrent product: 1 (the default: each thread sums its
 * units' products alone, one barrier per step), 2, 4 or 8, or 'auto' (the most of 8, 4 and 2 that
 * keeps H·S within the device's workgroup size). With S > 1 every step has two phases: S threads
 * per unit each sum 1/S of the product (a contiguous share of k) into workgroup memory, and after
 * a barrier one thread per unit adds the S partial sums and runs the cell's pointwise math, then
 * a second barrier. The serial chain per step shrinks from gr·H multiply-adds (forward; H·gr in
 * the backward's dR·whᵀ) to about 1/S of that, at the price of the second barrier: whether that
 * pays depends on the GPU, so it is opt in (setRecurrentSplit, BISTABLE_WEBGPU_SPLIT). Where the
 * device has subgroups of at least S lanes, a unit's S threads are neighbouring lanes that add
 * their partial sums with shuffles and all run its pointwise math: one barrier per step, as
 * without a split (SplitPlan.sub; setRecurrentSubgroups turns it off).
 */
export type RecurrentSplit = 1 | 2 | 4 | 8 | 'auto';

const SPLITS: readonly RecurrentSplit[] = [1, 2, 4, 8, 'auto'];

/** The setting from setRecurrentSplit; null: the environment variable's (read once), else 1. */
let chosenSplit: RecurrentSplit | null = null;
let envSplit: RecurrentSplit | undefined;

function parseSplit(raw: string, from: string): RecurrentSplit {
  const t = raw.trim().toLowerCase();
  const hit = SPLITS.find((s) => String(s) === t);
  if (hit === undefined) throw new InputError(`${from}=${raw}: expected 1, 2, 4, 8 or auto`);
  return hit;
}

/**
 * Chooses the whole-sequence kernels' split of each unit's recurrent product over threads (see
 * RecurrentSplit) for the kernels dispatched from now on; null goes back to the environment
 * variable BISTABLE_WEBGPU_SPLIT (read once, in Node), or 1 (no split) where it is unset.
 */
export function setRecurrentSplit(split: RecurrentSplit | null): void {
  chosenSplit = split === null ? null : parseSplit(String(split), 'setRecurrentSplit');
}

/** An environment variable where there is a process (Node); undefined in a browser. */
const envVar = (name: string): string | undefined =>
  (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env?.[name];

/** The split in force: setRecurrentSplit's, else BISTABLE_WEBGPU_SPLIT's, else 1. */
export function recurrentSplit(): RecurrentSplit {
  if (chosenSplit !== null) return chosenSplit;
  if (envSplit === undefined) {
    const raw = envVar('BISTABLE_WEBGPU_SPLIT');
    envSplit = raw === undefined || raw.trim() === '' ? 1 : parseSplit(raw, 'BISTABLE_WEBGPU_SPLIT');
  }
  return envSplit;
}

/** setRecurrentSubgroups's setting; null: BISTABLE_WEBGPU_SUBGROUPS's (read once), else on. */
let chosenSubgroups: boolean | null = null;
let envSubgroups: boolean | undefined;

/**
 * Whether split plans reduce in subgroups where the device has them (the default), or always
 * through workgroup memory (false: to compare the two). null goes back to the environment
 * variable BISTABLE_WEBGPU_SUBGROUPS ('0' turns them off), else on.
 */
export function setRecurrentSubgroups(on: boolean | null): void {
  if (on !== null && typeof on !== 'boolean')
    throw new InputError(`setRecurrentSubgroups takes true, false or null, got ${String(on)}`);
  chosenSubgroups = on;
}

/** The subgroup setting in force (see setRecurrentSubgroups). */
export function recurrentSubgroups(): boolean {
  if (chosenSubgroups !== null) return chosenSubgroups;
  if (envSubgroups === undefined) {
    const raw = envVar('BISTABLE_WEBGPU_SUBGROUPS')?.trim();
    if (raw !== undefined && raw !== '' && raw !== '0' && raw !== '1')
      throw new InputError(`BISTABLE_WEBGPU_SUBGROUPS=${raw}: expected 0 or 1`);
    envSubgroups = raw !== '0';
  }
  return envSubgroups;
}

/**
 * A row plan whose recurrent products are split over S > 1 threads per unit. Product phase:
 * thread `lane · (wg / S) + slot` sums share `lane` of k for units slot + q·(wg / S), q < nuS (a
 * warp holds one lane and consecutive units, so its reads of wh are coalesced). Pointwise phase:
 * unit j = thread + q·wg, q < nu, as in RowPlan. Workgroup arrays hold `cap` units.
 */
export interface SplitPlan extends RowPlan {
  S: 2 | 4 | 8;
  /** Product units per thread. */
  nuS: number;
  /** Units the workgroup arrays hold: (wg / S) · nuS ≥ H. */
  cap: number;
  /**
   * Subgroup plan: a unit's S threads are S neighbouring lanes of one subgroup (thread
   * `slot · S + lane`), which add their partial sums with subgroup shuffles. Each of them then
   * runs the unit's pointwise math (the lane 0 thread stores it), so a step needs one barrier, as
   * without a split. Units per thread: nu = nuS, unit j = slot + q·(wg / S).
   */
  sub?: true;
}

export interface PlanLimits {
  /** maxComputeWorkgroupStorageSize. */
  storageBytes: number;
  /** min(maxComputeInvocationsPerWorkgroup, maxComputeWorkgroupSizeX). */
  maxThreads: number;
  /** The device's smallest subgroup where it has the 'subgroups' feature and they are allowed; else 0. */
  subgroupSize?: number;
}

export const isSplit = (plan: RowPlan): plan is SplitPlan => 'S' in plan;

/** The plan's part of a pipeline key (a RowPlan's is what it was before splits existed). */
export const planKey = (plan: RowPlan): string =>
  isSplit(plan)
    ? `${plan.wg}x${plan.nu}s${plan.S}x${plan.nuS}${plan.sub ? 'g' : ''}`
    : `${plan.wg}x${plan.nu}`;

/** A split plan whose threads reduce in subgroups (see SplitPlan.sub). */
export const isSubgroupPlan = (plan: RowPlan): plan is SplitPlan & { sub: true } =>
  isSplit(plan) && plan.sub === true;

const pow2Floor = (n: number) => 2 ** Math.floor(Math.log2(Math.max(1, n)));
const pow2Ceil = (n: number) => 2 ** Math.ceil(Math.log2(Math.max(1, n)));

/**
 * The plan for H units under `split`: a RowPlan (rowPlan's) for 1, else a SplitPlan of S threads
 * per unit. S is at most H (rounded down to a power of two: a share of no k is a thread wasted);
 * workgroups of 64 up to min(1024, maxThreads) threads, a power of two, the fewest that give
 * each unit S threads (beyond that threads take several units); 'auto' takes the largest S whose
 * H·S threads fit one workgroup, and 1 where not even 2 fits. A split whose workgroup memory
 * exceeds the device's falls back to half the S, down to 1. Where `limits.subgroupSize` ≥ S the
 * plan reduces in subgroups (SplitPlan.sub), which needs no partial-sum arrays.
 */
export function recurrentPlan(
  H: number,
  gr: number,
  split: RecurrentSplit,
  limits: PlanLimits,
): RowPlan | SplitPlan {
  const maxThreads = pow2Floor(Math.min(1024, limits.maxThreads));
  let S: number = split === 'auto' ? ([8, 4, 2].find((s) => H * s <= maxThreads) ?? 1) : split;
  S = Math.min(S, pow2Floor(H));
  for (; S > 1 && maxThreads >= 64; S /= 2) {
    const wg = Math.max(64, Math.min(pow2Ceil(H * S), maxThreads));
    const U = wg / S;
    const nuS = Math.ceil(H / U);
    const cap = U * nuS;
    // forward: hs ×2 and gr·S partial sums per unit; backward: ds ×2 per gate and S partials
    const sub = S <= (limits.subgroupSize ?? 0);
    const floats = sub
      ? Math.max(2 * cap, 2 * gr * cap)
      : Math.max(2 * cap + gr * S * cap, 2 * gr * cap + S * cap);
    if (floats * 4 <= limits.storageBytes) {
      const plan = { wg, nu: Math.ceil(cap / wg), S: S as 2 | 4 | 8, nuS, cap };
      return sub ? { ...plan, nu: nuS, sub: true } : plan;
    }
  }
  return rowPlan(H, gr, limits.storageBytes);
}

/**
 * Uniforms: n = B·H, T, B, rev, H. With `members` (the operands of a run of several models,
 * member-kernels.ts) the workgroups are M·B: member mi = workgroup / B takes row b of its own
 * operands, at offsets o_<name>.
 */
const entry = (wg: number, gx: number, gr: number, cw: number, members: readonly string[] | null) => `
@compute @workgroup_size(${wg})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>,
        @builtin(num_workgroups) nwg: vec3<u32>) {
${
  members
    ? memberIndex('wid.y * nwg.x + wid.x', 'u.B', 'b', members)
    : `  let b = wid.y * nwg.x + wid.x;
  if (b >= u.B) { return; }`
}
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

/** A loop's bounds: [lo, hi) (a split's share), or [0, n) where none is given. */
interface Range {
  lo: string;
  hi: string;
}

const bounds = (n: string, range?: Range) =>
  range
    ? { start: range.lo, main: `${range.hi} - (${range.hi} - ${range.lo}) % ${ACC}u`, end: range.hi }
    : { start: '0u', main: `${n} - ${n} % ${ACC}u`, end: n };

/**
 * R_g = init_g + Σ_k h[k] · wh[k, g·H + j] for every gate g, with ACC partial sums per gate (k
 * over `range` only, where given).
 */
function matvecForward(gr: number, wh: string, init: (g: number) => string, range?: Range): string {
  const kb = bounds('H', range);
  const term = (k: string, a: number, g: number) =>
    `r${g}_${a} += hs[hb + ${k}] * ${wh}[(${k}) * GRH + ${g > 0 ? `${g}u * H + ` : ''}j];`;
  return `${each(gr, (g) => `        var r${g}_0 = ${init(g)};\n${each(ACC - 1, (a) => `        var r${g}_${a + 1} = 0.0;`)}`)}
        let kMain = ${kb.main};
        for (var k = ${kb.start}; k < kMain; k += ${ACC}u) {
${each(ACC, (a) => each(gr, (g) => `          ${term(a === 0 ? 'k' : `k + ${a}u`, a, g)}`))}
        }
        for (var k = kMain; k < ${kb.end}; k++) {
${each(gr, (g) => `          ${term('k', 0, g)}`)}
        }
${each(gr, (g) => `        let R${g} = (r${g}_0 + r${g}_1) + (r${g}_2 + r${g}_3);`)}`;
}

/** acc = init + Σ_m ds[db + m] · whT[m, j] over m < gr·H (or `range`), with ACC partial sums. */
function dotBackward(whT: string, j: string, init: string, range?: Range): string {
  const mb = bounds('GRH', range);
  const term = (m: string, a: number) => `a${a} += ds[db + ${m}] * ${whT}[(${m}) * H + ${j}];`;
  return `        var a0 = ${init};
${each(ACC - 1, (a) => `        var a${a + 1} = 0.0;`)}
        let mMain = ${mb.main};
        for (var m = ${mb.start}; m < mMain; m += ${ACC}u) {
${each(ACC, (a) => `          ${term(a === 0 ? 'm' : `m + ${a}u`, a)}`)}
        }
        for (var m = mMain; m < ${mb.end}; m++) {
          ${term('m', 0)}
        }
        let acc = (a0 + a1) + (a2 + a3);`;
}

/**
 * A split plan's product-phase locals: this thread's lane (its share [kLo, kHi) of the n terms
 * of each sum), the offset of its partial sums in workgroup memory (pOff), and its product
 * units ju0.. (to be checked against H).
 */
const splitUnits = (plan: SplitPlan, n: string) => {
  const U = plan.wg / plan.S;
  return `
  let lane = lid.x / ${U}u;
  let slot = lid.x % ${U}u;
  let KS = (${n} + ${plan.S - 1}u) / ${plan.S}u;
  let kLo = min(lane * KS, ${n});
  let kHi = min(kLo + KS, ${n});
  let pOff = lane * ${plan.cap}u;
${each(plan.nuS, (q) => `  let ju${q} = slot + ${q * U}u;`)}`;
};

/**
 * A subgroup plan's locals: this thread's lane and slot (unit j = slot + q·U, U = wg / S), its
 * share [kLo, kHi) of the n terms of each sum, and `lead`, the lane that stores the unit's
 * results (every lane of the unit computes them).
 */
const subgroupUnits = (plan: SplitPlan, n: string) => `
  let lane = lid.x % ${plan.S}u;
  let slot = lid.x / ${plan.S}u;
  let lead = lane == 0u;
  let KS = (${n} + ${plan.S - 1}u) / ${plan.S}u;
  let kLo = min(lane * KS, ${n});
  let kHi = min(kLo + KS, ${n});
${each(
  plan.nu,
  (q) => `  let j${q} = slot + ${q * (plan.wg / plan.S)}u;
  let ok${q} = j${q} < H;`,
)}`;

/** x summed over the S lanes of its unit, into every one of them (butterfly of subgroup shuffles). */
function laneSum(x: string, S: number): string {
  const out: string[] = [];
  for (let m = 1; m < S; m *= 2) out.push(`    ${x} += subgroupShuffleXor(${x}, ${m}u);`);
  return out.join('\n');
}

/** (x_0 + x_1) + (x_2 + x_3) … over n = 2, 4 or 8 terms, pairwise. */
function pairwise(n: number, x: (i: number) => string): string {
  let terms = Array.from({ length: n }, (_, i) => x(i));
  while (terms.length > 1)
    terms = Array.from({ length: terms.length / 2 }, (_, i) => `(${terms[2 * i]} + ${terms[2 * i + 1]})`);
  return terms[0];
}

/**
 * Forward over all T steps. Step t: R = h_{t-1} @ wh + bh with h_{t-1} read from workgroup
 * memory (double-buffered, so one barrier per step suffices), then the cell's pointwise math.
 * P of the next step is loaded ahead of the matvec, so its latency overlaps the matvec.
 * Uniform `zero` set: the initial h (and c) are zeros, which the kernel writes into their slot of
 * hAll (and cAll) itself. With `whT` bound, each workgroup also writes its share of wh transposed
 * there after its loop, for the backward (which would otherwise need a pass of its own for it).
 * A SplitPlan (RecurrentSplit) splits the matvec: each of S threads per unit sums its share of k
 * into ps (productForward), and after a barrier the unit's pointwise thread adds bh and the S
 * partial sums; a second barrier ends the step. A subgroup plan (SplitPlan.sub) adds the S partial
 * sums with shuffles instead (productSubgroupForward): no ps, one barrier. A RowPlan sums each
 * unit's product in one thread.
 */
export function recurrentForwardCode(
  cw: CellWgsl,
  plan: RowPlan,
  v: Vars,
  members: readonly string[] | null = null,
): string {
  const { gx, gr, npw, cacheWidth, hasCellState: withC } = cw.spec;
  const fr = cw.reads.forward;
  const fP = readsOf(fr, 'P', gx);
  const fM = readsOf(fr, 'M', npw);
  const { nu, wg } = plan;
  const sg = isSubgroupPlan(plan) ? plan : null;
  const sp = isSplit(plan) && !sg ? plan : null;
  const cap = sp ? sp.cap : sg ? sg.cap : wg * nu;
  // a subgroup plan's lanes all compute a unit's results; its lead lane stores them
  const store = (stmt: string) => (sg && stmt ? `if (lead) { ${stmt} }` : stmt);
  const pAt = (t: string, k: number, j: string) =>
    `${v.p}[(${t} * u.B + b) * GXH + ${k > 0 ? `${k}u * H + ` : ''}${j}]`;
  return `${sg ? 'enable subgroups;\n' : ''}
var<workgroup> hs: array<f32, ${2 * cap}>;${sp ? `\nvar<workgroup> ps: array<f32, ${gr * sp.S * cap}>;` : ''}
${entry(wg, gx, gr, cacheWidth, members)}
  let s0 = select(0u, u.T, rev);
  let t0 = select(0u, u.T - 1u, rev);
${sg ? subgroupUnits(sg, 'H') : `${units(plan)}${sp ? splitUnits(sp, 'H') : ''}`}
${each(
  nu,
  (q) => `${withC ? `  var c${q} = 0.0;\n` : ''}${eachOf(fP, (k) => `  var pf${q}_${k} = 0.0;`)}
${each(gr, (g) => `  var bh${q}_${g} = 0.0;`)}
${eachOf(fM, (k) => `  var m${q}_${k} = 0.0;`)}
  if (ok${q}) {
    if (u.zero != 0u) {
      ${store(`hs[j${q}] = 0.0;`)}
      ${store(`${v.hAll}[s0 * BH + row + j${q}] = 0.0;`)}
${withC ? `      ${store(`${v.cAll}[s0 * BH + row + j${q}] = 0.0;`)}` : ''}
    } else {
      ${store(`hs[j${q}] = ${v.hAll}[s0 * BH + row + j${q}];`)}
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
    let nb = H - hb;${sp ? productForward(sp, gr, v.wh) : ''}${sg ? productSubgroupForward(sg, gr, v.wh) : ''}
${each(
  nu,
  (q) => `    if (ok${q}) {
      let j = j${q};
${eachOf(fP, (k) => `      let P${k} = pf${q}_${k};`)}
${eachOf(fP, (k) => `      pf${q}_${k} = ${pAt('tn', k, 'j')};`)}
${
  sp
    ? each(
        gr,
        (g) =>
          `      let R${g} = bh${q}_${g} + ${pairwise(sp.S, (l) => `ps[${g + l > 0 ? `${(g * sp.S + l) * cap}u + ` : ''}j]`)};`,
      )
    : sg
      ? each(gr, (g) => `      let R${g} = bh${q}_${g} + s${q}_${g};`)
      : matvecForward(gr, v.wh, (g) => `bh${q}_${g}`)
}
${eachOf(fM, (k) => `      let M${k} = m${q}_${k};`)}
      let hp = hs[hb + j];
${withC ? `      let cp = c${q};` : ''}
${cw.forward}
      ${store(`hs[nb + j] = hn;`)}
      ${store(`${v.hAll}[outS * BH + row + j] = hn;`)}
${withC ? `      ${store(`${v.cAll}[outS * BH + row + j] = cn;`)}\n      c${q} = cn;` : ''}
${each(cacheWidth, (k) => `      ${store(`${v.cache}[(t * u.B + b) * CWH + ${k > 0 ? `${k}u * H + ` : ''}j] = C${k};`)}`)}
    }`,
)}
    workgroupBarrier();
    cur = 1u - cur;
  }
${v.whT ? transposeShare(wg, v.wh, v.whT) : ''}
}`;
}

/**
 * A split forward's product phase: each thread's partial sums over its share of k for its units,
 * into ps (gate g, lane l, unit j at (g·S + l)·cap + j); the barrier after it makes them visible
 * to the pointwise phase.
 */
const productForward = (plan: SplitPlan, gr: number, wh: string) => `
${each(
  plan.nuS,
  (q) => `    if (ju${q} < H) {
      let j = ju${q};
${matvecForward(gr, wh, () => '0.0', { lo: 'kLo', hi: 'kHi' })}
${each(gr, (g) => `      ps[${g > 0 ? `${g * plan.S * plan.cap}u + ` : ''}pOff + j] = R${g};`)}
    }`,
)}
    workgroupBarrier();`;

/**
 * A subgroup forward's product: each lane's partial sums over its share of k for its units, then
 * summed over the unit's lanes by shuffles (in uniform control flow, outside the units' checks),
 * so every lane holds R - bh in s<q>_<g> and no barrier is needed before the pointwise math.
 */
const productSubgroupForward = (plan: SplitPlan, gr: number, wh: string) => `
${each(
  plan.nu,
  (q) => `${each(gr, (g) => `    var s${q}_${g} = 0.0;`)}
    if (ok${q}) {
      let j = j${q};
${matvecForward(gr, wh, () => '0.0', { lo: 'kLo', hi: 'kHi' })}
${each(gr, (g) => `      s${q}_${g} = R${g};`)}
    }`,
)}
${each(plan.nu, (q) => each(gr, (g) => laneSum(`s${q}_${g}`, plan.S)))}`;

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

/** Whether any operand sits in aux (the kernel then needs aux and its offsets). */
export const usesAux = (p: Places): boolean => Object.values(p).includes('aux');

/** Whether the kernel writes into aux (dc0 or the pointwise-parameter shares go there). */
export const writesAux = (p: Places): boolean => p.dc0 === 'aux' || p.w === 'aux';

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
 * A SplitPlan splits that sum: each of S threads per unit sums its share of m into qs
 * (productBackward), and after a second barrier each unit's thread adds the S partial sums to its
 * pointwise part; a subgroup plan adds them with shuffles (productSubgroupBackward): no qs, one
 * barrier.
 */
export function recurrentBackwardCode(
  cw: CellWgsl,
  plan: RowPlan,
  v: Vars,
  places: Places,
  members: readonly string[] | null = null,
): string {
  const { gx, gr, npw, cacheWidth, hasCellState: withC } = cw.spec;
  const br = cw.reads.backward;
  const bC = readsOf(br, 'C', cacheWidth);
  const bM = readsOf(br, 'M', npw);
  const [readsG, readsDc, readsHp, readsCp] = ['g', 'dc', 'hp', 'cp'].map((n) => br.has(n));
  const wantW = places.w !== null;
  const at = placed(places, v, npw);
  const { nu, wg } = plan;
  const sg = isSubgroupPlan(plan) ? plan : null;
  const sp = isSplit(plan) && !sg ? plan : null;
  const cap = sp ? sp.cap : sg ? sg.cap : wg * nu;
  const store = (stmt: string) => (sg ? `if (lead) { ${stmt} }` : stmt);
  const off = (k: number) => (k > 0 ? `${k}u * H + ` : '');
  const loads = (q: number, t: string, prev: string, j: string) => `
${eachOf(bC, (k) => `      pc${q}_${k} = ${v.cache}[(${t} * u.B + b) * CWH + ${off(k)}${j}];`)}
${readsHp ? `      ph${q} = ${v.hAll}[${prev} * BH + row + ${j}];` : ''}
${readsCp ? `      pcp${q} = ${v.cAll}[${prev} * BH + row + ${j}];` : ''}
${v.dOut ? `      pd${q} = ${v.dOut}[${t} * BH + row + ${j}];` : ''}`;
  return `${sg ? 'enable subgroups;\n' : ''}
var<workgroup> ds: array<f32, ${2 * gr * cap}>;${sp ? `\nvar<workgroup> qs: array<f32, ${sp.S * cap}>;` : ''}
${entry(wg, gx, gr, cacheWidth, members)}
${auxOffsets(gr, npw)}
  let t0 = select(u.T - 1u, 0u, rev);
  let p0 = select(t0, t0 + 1u, rev);
${sg ? subgroupUnits(sg, 'GRH') : `${units(plan)}${sp ? splitUnits(sp, 'GRH') : ''}`}
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
${each(gx, (k) => `      ${store(`${v.dP}[(t * u.B + b) * GXH + ${off(k)}j] = D${k};`)}`)}
${each(gr, (k) => `      ${store(`${v.dR}[(t * u.B + b) * GRH + ${off(k)}j] = E${k};`)}\n      ${store(`ds[db + ${off(k)}j] = E${k};`)}`)}
      dhp${q} = dhp;
${withC ? `      dc${q} = dcp;` : ''}
${wantW ? each(npw, (k) => `      w${q}_${k} += W${k};`) : ''}
    }`,
)}
    workgroupBarrier();
${sp ? productBackward(sp, v.aux) : ''}${sg ? productSubgroupBackward(sg, v.aux) : ''}${each(nu, (q) =>
  sg
    ? `    if (ok${q}) {
      dh${q} = dhp${q} + sd${q};
    }`
    : sp
      ? `    if (ok${q}) {
      dh${q} = dhp${q} + ${pairwise(sp.S, (l) => `qs[${l > 0 ? `${l * cap}u + ` : ''}j${q}]`)};
    }`
      : `    if (ok${q}) {
${dotBackward(v.aux, `j${q}`, `dhp${q}`)}
      dh${q} = acc;
    }`,
)}
    cur = 1u - cur;
  }
${each(
  nu,
  (q) => `  if (ok${q}${sg ? ' && lead' : ''}) {
    ${v.dh0}[row + j${q}] = dh${q};
${withC ? `    ${at.dc0(`row + j${q}`, `dc${q}`)}` : ''}
${wantW ? each(npw, (k) => `    ${at.w(k, 'b', `j${q}`)} = w${q}_${k};`) : ''}
  }`,
)}
}`;
}

/**
 * A split backward's product phase: each thread's partial sums of dR_t · whᵀ over its share of m
 * for its units, into qs (lane l, unit j at l·cap + j), and the barrier that makes them visible.
 * The pointwise phase of the next step writes ds only after the next step's first barrier, when
 * every read here is done.
 */
const productBackward = (plan: SplitPlan, whT: string) => `${each(
  plan.nuS,
  (q) => `    if (ju${q} < H) {
${dotBackward(whT, `ju${q}`, '0.0', { lo: 'kLo', hi: 'kHi' })}
      qs[pOff + ju${q}] = acc;
    }`,
)}
    workgroupBarrier();
`;

/**
 * A subgroup backward's product: each lane's partial sum of dR_t · whᵀ over its share of m for
 * its units, summed over the unit's lanes by shuffles into sd<q> of every lane; the step's one
 * barrier (before it) is all it needs.
 */
const productSubgroupBackward = (plan: SplitPlan, whT: string) => `${each(
  plan.nu,
  (q) => `    var sd${q} = 0.0;
    if (ok${q}) {
${dotBackward(whT, `j${q}`, '0.0', { lo: 'kLo', hi: 'kHi' })}
      sd${q} = acc;
    }`,
)}
${each(plan.nu, (q) => laneSum(`sd${q}`, plan.S))}
`;
