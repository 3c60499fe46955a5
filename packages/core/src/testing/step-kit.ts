import { offeredKernels } from '../backend/cell-kernels.js';
import { InputError } from '../backend/errors.js';
import {
  type Backend,
  type DeviceBuffer,
  type DType,
  KERNEL_LEVEL,
  type KernelLevel,
  type NarrowInputKernels,
  type SequenceKernels,
  type StepForwardArgs,
  type StepKernels,
} from '../backend/types.js';
import { CELLS, cellSpec } from '../cells/index.js';
import type { CellSpec } from '../cells/spec.js';
import { Rng } from '../init/rng.js';
import { STEP_KIT_CELL } from './step-kit-cell.js';
import * as oracle from './step-kit-oracle.js';
import { type Tolerance, toleranceFor, worstError } from './tolerance.js';

/** Which of a backend's kernels a case runs: its step pair, its sequence pair, or their narrow-input form. */
export type StepKitKernels = 'step' | 'sequence' | 'narrowInput';

/** A batch size and a hidden size the kit runs every kernel at. */
export interface StepKitShape {
  B: number;
  H: number;
}

/** What `stepKitCases` and `runStepKit` check. */
export interface StepKitOptions {
  dtype: DType;
  /** The cells to check. Default: the four built-in cells and STEP_KIT_CELL. */
  cells?: readonly (string | CellSpec)[];
  /** Cells checked after `cells` (a user-defined cell under test). */
  extraCells?: readonly (string | CellSpec)[];
  /**
   * Batch and hidden sizes. Default: B = 1 with H = 1 and H = 7, B = 2 with H = 8, and three
   * drawn from `seed` (B ≤ 6, H ≤ 24), so that row remainders and vector remainders both occur.
   */
  shapes?: readonly StepKitShape[];
  /** Time steps of the sequence cases (default 3). */
  T?: number;
  /** Seeds the shapes and every value the cases draw (default 1). */
  seed?: number;
  /** Default: toleranceFor(dtype). */
  tolerance?: Tolerance;
}

/** One check of one kernel pair of a backend, for one cell at one shape. */
export interface StepKitCase {
  id: string;
  cell: string;
  level: KernelLevel;
  kernels: StepKitKernels;
  /** What the case varies: `plain` or `recurrent` (step), the direction and input width (sequence). */
  variant: string;
  B: number;
  H: number;
  /** Time steps (1 for a step case). */
  T: number;
  run(): Promise<StepKitResult>;
}

/** How a case went: the worst error of every output against the float64 oracle. */
export interface StepKitResult extends Omit<StepKitCase, 'run'> {
  dtype: DType;
  /**
   * Worst error (tolerance.ts's metric) per output, named after the argument the kernel wrote,
   * with the pass in brackets where there are several: `hOut`, `dP [dOut]`, `dh0 [dhN]`, …
   */
  errors: Record<string, number>;
  forwardError: number;
  gradientError: number;
  forwardTolerance: number;
  gradientTolerance: number;
  passed: boolean;
  /** The output with the worst error relative to its tolerance, or `threw`. */
  worst: string;
  /** The message of an exception the kernels threw (the case then fails). */
  thrown?: string;
}

/**
 * The cases of the per-step conformance kit for one backend instance: every kernel pair it offers
 * (`offeredKernels`) for every cell, at several shapes, each against core's host functions in
 * float64 on the same inputs rounded to `dtype` (llm.c checks each GPU kernel against its CPU
 * reference this way). Step kernels run one step forward and backward, with operands at offsets
 * inside larger buffers; kernels that fuse the recurrent product run both with those arguments
 * (wh, bh; the previous step's dR) and without. Sequence kernels run forward and backward in
 * both directions, with and without dOut and the final-state gradients; narrow-input kernels in
 * the dtypes they take. Outputs start as NaN and the values around them must stay as they were,
 * so an output left unwritten or a write out of bounds fails too. Cases do not depend on vitest.
 *
 * @example
 * ```ts
 * import { getBackend } from '@bistable/core';
 * import { formatStepKitResult, runStepKit } from '@bistable/core/testing';
 *
 * const results = await runStepKit(await getBackend('cpu'), { dtype: 'float32' });
 * for (const r of results.filter((r) => !r.passed)) console.log(formatStepKitResult(r));
 * ```
 */
export function stepKitCases(backend: Backend, options: StepKitOptions): StepKitCase[] {
  const { dtype } = options;
  if (!backend.dtypes.includes(dtype)) {
    throw new InputError(`backend '${backend.name}' computes in ${backend.dtypes.join(', ')}, not ${dtype}`);
  }
  const seed = options.seed ?? 1;
  const T = options.T ?? 3;
  const tol = options.tolerance ?? toleranceFor(dtype);
  const cells = [
    ...(options.cells ?? [...Object.values(CELLS), STEP_KIT_CELL]),
    ...(options.extraCells ?? []),
  ];
  const shapes = options.shapes ?? defaultShapes(seed);
  const out: StepKitCase[] = [];
  const add = (
    spec: CellSpec,
    kernels: StepKitKernels,
    variant: string,
    { B, H }: StepKitShape,
    steps: number,
    go: (ctx: CaseContext) => Promise<void>,
  ) => {
    const caseSeed = seed * 1_000_003 + out.length;
    const c = {
      id: `${spec.name} ${kernels}[${variant}] B=${B} H=${H}${kernels === 'step' ? '' : ` T=${steps}`}`,
      cell: spec.name,
      level: kernels === 'step' ? KERNEL_LEVEL.step : KERNEL_LEVEL.sequence,
      kernels,
      variant,
      B,
      H,
      T: steps,
    };
    out.push({ ...c, run: () => runCase(c, backend, dtype, tol, caseSeed, go) });
  };
  for (const spec of cells.map((c) => cellSpec(c))) {
    const offer = offeredKernels(backend, spec);
    for (const shape of shapes) {
      const { step, sequence } = offer;
      if (step) {
        add(spec, 'step', 'plain', shape, 1, (ctx) => stepCase(ctx, spec, step, shape, false));
        if (step.fusesRecurrent && spec.gr > 0)
          add(spec, 'step', 'recurrent', shape, 1, (ctx) => stepCase(ctx, spec, step, shape, true));
      }
      if (!sequence) continue;
      for (const reverse of [false, true]) {
        const dir = reverse ? 'reverse' : 'forward';
        add(spec, 'sequence', dir, shape, T, (ctx) =>
          sequenceCase(ctx, spec, sequence, shape, T, reverse, null),
        );
      }
      const narrow = sequence.narrowInput;
      if (!narrow?.dtypes.includes(dtype)) continue;
      for (const width of new Set([1, narrow.maxWidth])) {
        for (const reverse of [false, true]) {
          const v = `${reverse ? 'reverse' : 'forward'}, width ${width}`;
          add(spec, 'narrowInput', v, shape, T, (ctx) =>
            sequenceCase(ctx, spec, sequence, shape, T, reverse, { kernels: narrow, width }),
          );
        }
      }
    }
  }
  return out;
}

/** Runs every case of `stepKitCases` in turn; never throws for a wrong result, only reports it. */
export async function runStepKit(backend: Backend, options: StepKitOptions): Promise<StepKitResult[]> {
  const results: StepKitResult[] = [];
  for (const c of stepKitCases(backend, options)) results.push(await c.run());
  return results;
}

/** One line for a result: its id, dtype, verdict and worst output (or the exception). */
export function formatStepKitResult(r: StepKitResult): string {
  const verdict = r.passed ? 'pass' : 'FAIL';
  if (r.thrown !== undefined) return `${verdict} ${r.id} ${r.dtype}: threw ${r.thrown}`;
  const e = r.errors[r.worst];
  const tol = r.worst.startsWith('d') ? r.gradientTolerance : r.forwardTolerance;
  return `${verdict} ${r.id} ${r.dtype}: worst ${r.worst} ${e?.toExponential(2)} (tolerance ${tol})`;
}

function defaultShapes(seed: number): StepKitShape[] {
  const rng = new Rng(seed);
  const drawn = Array.from({ length: 3 }, () => ({ B: rng.int(1, 7), H: rng.int(2, 25) }));
  return [{ B: 1, H: 1 }, { B: 1, H: 7 }, { B: 2, H: 8 }, ...drawn];
}

// ------------------------------------------------------------------------------------ running

/** What a case's body works with: buffers it frees afterwards, values drawn in the dtype, checks. */
interface CaseContext {
  be: Backend;
  dtype: DType;
  draw: Draw;
  /** A buffer holding `data` (rounded to the dtype by the backend, as the draws already are). */
  put(data: ArrayLike<number>): DeviceBuffer;
  /** `data` at an offset inside a buffer with drawn values on both sides (see Placed). */
  place(data: ArrayLike<number>): Placed;
  /** `n` NaNs placed likewise: an output the kernel must overwrite. */
  placeOutput(n: number): Placed;
  check(kind: 'fwd' | 'grad', name: string, buf: DeviceBuffer, expected: ArrayLike<number>): Promise<void>;
  /** The same for a placed output: `expected` where it sits, untouched values around it. */
  checkPlaced(kind: 'fwd' | 'grad', name: string, at: Placed, expected: ArrayLike<number>): Promise<void>;
}

/** An operand at `off` in `buf`; `full` is the whole buffer's contents as written. */
interface Placed {
  buf: DeviceBuffer;
  off: number;
  full: Float64Array;
}

/** Values drawn from a seed and rounded to the dtype, so the oracle sees exactly what the kernel does. */
class Draw {
  private readonly rng: Rng;
  readonly round: (x: number) => number;
  constructor(seed: number, dtype: DType) {
    this.rng = new Rng(seed);
    this.round = dtype === 'float32' ? Math.fround : (x) => x;
  }
  normal(n: number, scale = 1): Float64Array {
    return Float64Array.from({ length: n }, () => this.round(this.rng.normal() * scale));
  }
  uniform(n: number, lo: number, hi: number): Float64Array {
    return Float64Array.from({ length: n }, () => this.round(this.rng.uniformIn(lo, hi)));
  }
  rounded(a: Float64Array): Float64Array {
    return a.map(this.round);
  }
}

async function runCase(
  c: Omit<StepKitCase, 'run'>,
  be: Backend,
  dtype: DType,
  tol: Tolerance,
  seed: number,
  go: (ctx: CaseContext) => Promise<void>,
): Promise<StepKitResult> {
  const bufs: DeviceBuffer[] = [];
  const errors: Record<string, number> = {};
  let fwd = 0;
  let grad = 0;
  let worst = '';
  let worstRatio = -1;
  const draw = new Draw(seed, dtype);
  const put = (data: ArrayLike<number>) => {
    const buf = be.alloc(data.length, dtype);
    bufs.push(buf);
    be.write(buf, data);
    return buf;
  };
  const place = (data: ArrayLike<number>): Placed => {
    const n = Math.max(1, data.length);
    const full = new Float64Array(2 * n + data.length);
    full.set(draw.normal(n));
    full.set(data, n);
    full.set(draw.normal(n), n + data.length);
    return { buf: put(full), off: n, full };
  };
  const record = (kind: 'fwd' | 'grad', name: string, e: number) => {
    errors[name] = e;
    const t = kind === 'fwd' ? tol.forward : tol.gradient;
    if (kind === 'fwd') fwd = Math.max(fwd, e);
    else grad = Math.max(grad, e);
    if (e / t > worstRatio) {
      worstRatio = e / t;
      worst = name;
    }
  };
  const check = async (kind: 'fwd' | 'grad', name: string, buf: DeviceBuffer, expected: ArrayLike<number>) =>
    record(kind, name, worstError(await be.read(buf, 0, buf.length), expected));
  const ctx: CaseContext = {
    be,
    dtype,
    draw,
    put,
    place,
    placeOutput: (n) => place(new Float64Array(n).fill(Number.NaN)),
    check,
    checkPlaced: (kind, name, at, expected) => {
      const want = at.full.slice();
      want.set(expected, at.off);
      return check(kind, name, at.buf, want);
    },
  };
  let thrown: string | undefined;
  try {
    await go(ctx);
  } catch (err) {
    thrown = err instanceof Error ? err.message : String(err);
  } finally {
    for (const b of bufs) be.dispose(b);
  }
  const passed = thrown === undefined && fwd <= tol.forward && grad <= tol.gradient;
  return {
    ...c,
    dtype,
    errors,
    forwardError: fwd,
    gradientError: grad,
    forwardTolerance: tol.forward,
    gradientTolerance: tol.gradient,
    passed,
    worst: thrown === undefined ? worst : 'threw',
    ...(thrown === undefined ? {} : { thrown }),
  };
}

// ------------------------------------------------------------------------------------ step

async function stepCase(
  ctx: CaseContext,
  spec: CellSpec,
  kernels: StepKernels,
  { B, H }: StepKitShape,
  recurrent: boolean,
): Promise<void> {
  const { draw: d } = ctx;
  const BH = B * H;
  const grH = spec.gr * H;
  const cell = spec.hasCellState;
  const p = d.normal(B * spec.gx * H);
  const hPrev = d.uniform(BH, -0.9, 0.9);
  const cPrev = cell ? d.normal(BH) : null;
  const pw = spec.npw > 0 ? d.normal(spec.npw * H, 0.7) : null;
  const wh = spec.gr > 0 ? d.normal(H * grH, 1 / Math.sqrt(H)) : null;
  const bh = recurrent && spec.hasBh ? d.normal(grH, 0.5) : null;
  const r =
    spec.gr === 0
      ? null
      : recurrent
        ? oracle.recurrentProduct(spec, B, H, hPrev, 0, wh!, bh)
        : d.normal(B * grH);
  const want = oracle.stepForward(spec, B, H, { p, r, pw, hPrev, cPrev });

  const P = ctx.place(p);
  const R = r && !recurrent ? ctx.place(r) : null;
  const Hp = ctx.place(hPrev);
  const Cp = cPrev ? ctx.place(cPrev) : null;
  const PW = pw ? ctx.put(pw) : null;
  const Ho = ctx.placeOutput(BH);
  const Co = cell ? ctx.placeOutput(BH) : null;
  const Cache = ctx.placeOutput(B * spec.cacheWidth * H);
  const args: StepForwardArgs<DeviceBuffer> = {
    B,
    H,
    p: P.buf,
    pOff: P.off,
    r: R?.buf ?? null,
    rOff: R?.off ?? 0,
    pw: PW,
    hPrev: Hp.buf,
    hPrevOff: Hp.off,
    cPrev: Cp?.buf ?? null,
    cPrevOff: Cp?.off ?? 0,
    hOut: Ho.buf,
    hOutOff: Ho.off,
    cOut: Co?.buf ?? null,
    cOutOff: Co?.off ?? 0,
    cache: Cache.buf,
    cacheOff: Cache.off,
  };
  const WH = wh && recurrent ? ctx.put(wh) : null;
  await (WH ? kernels.forward(args, { wh: WH, bh: bh ? ctx.put(bh) : null }) : kernels.forward(args));
  await ctx.checkPlaced('fwd', 'hOut', Ho, want.hOut);
  if (Co) await ctx.checkPlaced('fwd', 'cOut', Co, want.cOut!);
  await ctx.checkPlaced('fwd', 'cache', Cache, want.cache);

  // the backward reads the oracle's cache, so that a forward error does not show up twice
  const cache = d.rounded(want.cache);
  const passes = recurrent
    ? [
        { label: 'first step', dOut: true, carry: false },
        { label: 'carry', dOut: true, carry: true },
      ]
    : [
        { label: 'dOut', dOut: true, carry: false },
        { label: 'no dOut', dOut: false, carry: false },
      ];
  for (const pass of passes) {
    const dOut = pass.dOut ? d.normal(BH) : null;
    const dhCarry = d.normal(BH);
    const dcCarry = cell ? d.normal(BH) : null;
    const dPw = pw ? d.normal(pw.length) : null;
    // the previous step's dR, whose product with whᵀ a fusing kernel adds to the gradient reaching h
    const dRBefore = pass.carry ? d.normal(B * grH) : null;
    const reaching = dhCarry.slice();
    if (dRBefore) oracle.product(B, H, grH, dRBefore, 0, wh!, true, reaching, 0, true);
    const g = oracle.stepBackward(spec, B, H, {
      dOut,
      dhCarry: reaching,
      dcCarry,
      cache,
      hPrev,
      cPrev,
      pw,
      dPw,
    });
    const DOut = dOut ? ctx.place(dOut) : null;
    const DH = ctx.place(dhCarry);
    const DC = dcCarry ? ctx.place(dcCarry) : null;
    const CacheIn = ctx.place(cache);
    const HpIn = ctx.place(hPrev);
    const CpIn = cPrev ? ctx.place(cPrev) : null;
    const DP = ctx.placeOutput(B * spec.gx * H);
    // as in the loops, the previous step's dR sits in the same buffer, right after this step's
    const DR =
      spec.gr > 0
        ? ctx.place([...new Float64Array(B * grH).fill(Number.NaN), ...(dRBefore ?? d.normal(B * grH))])
        : null;
    const DHp = ctx.placeOutput(BH);
    const DCp = cell ? ctx.placeOutput(BH) : null;
    const DPw = dPw ? ctx.put(dPw) : null;
    const bargs = {
      B,
      H,
      dOut: DOut?.buf ?? null,
      dOutOff: DOut?.off ?? 0,
      dhCarry: DH.buf,
      dhCarryOff: DH.off,
      dcCarry: DC?.buf ?? null,
      dcCarryOff: DC?.off ?? 0,
      cache: CacheIn.buf,
      cacheOff: CacheIn.off,
      hPrev: HpIn.buf,
      hPrevOff: HpIn.off,
      cPrev: CpIn?.buf ?? null,
      cPrevOff: CpIn?.off ?? 0,
      pw: PW,
      dP: DP.buf,
      dPOff: DP.off,
      dR: DR?.buf ?? null,
      dROff: DR?.off ?? 0,
      dhPrev: DHp.buf,
      dhPrevOff: DHp.off,
      dcPrev: DCp?.buf ?? null,
      dcPrevOff: DCp?.off ?? 0,
      dPw: DPw,
    };
    if (recurrent) {
      const carry = DR && pass.carry ? { dR: DR.buf, dROff: DR.off + B * grH, wh: WH! } : null;
      await kernels.backward(bargs, carry);
    } else await kernels.backward(bargs);
    const name = (n: string) => `${n} [${pass.label}]`;
    await ctx.checkPlaced('grad', name('dP'), DP, g.dP);
    if (DR) await ctx.checkPlaced('grad', name('dR'), DR, g.dR!);
    await ctx.checkPlaced('grad', name('dhPrev'), DHp, g.dhPrev);
    if (DCp) await ctx.checkPlaced('grad', name('dcPrev'), DCp, g.dcPrev!);
    if (DPw) await ctx.check('grad', name('dPw'), DPw, g.dPw!);
  }
}

// ------------------------------------------------------------------------------------ sequence

interface Narrow {
  kernels: NarrowInputKernels;
  width: number;
}

async function sequenceCase(
  ctx: CaseContext,
  spec: CellSpec,
  seq: SequenceKernels,
  { B, H }: StepKitShape,
  T: number,
  reverse: boolean,
  narrow: Narrow | null,
): Promise<void> {
  const { draw: d } = ctx;
  const BH = B * H;
  const gxH = spec.gx * H;
  const grH = spec.gr * H;
  const cell = spec.hasCellState;
  const nan = (n: number) => new Float64Array(n).fill(Number.NaN);
  const wh = spec.gr > 0 ? d.normal(H * grH, 1 / Math.sqrt(H)) : null;
  const bh = spec.hasBh ? d.normal(grH, 0.5) : null;
  const pw = spec.npw > 0 ? d.normal(spec.npw * H, 0.7) : null;
  const h0 = d.uniform(BH, -0.9, 0.9);
  const c0 = cell ? d.normal(BH) : null;
  // a narrow input: x [T·B, width] after a few values of something else, projected by the kernels
  const width = narrow?.width ?? 0;
  const x = narrow ? ctx.place(d.normal(T * B * width)) : null;
  const wx = narrow ? d.normal(width * gxH, 1 / Math.sqrt(width)) : null;
  const biasRow = narrow ? new Float64Array(gxH) : null;
  biasRow?.set(d.normal(spec.nbx * H, 0.5));
  let p: Float64Array;
  if (x && wx && biasRow) {
    p = new Float64Array(T * B * gxH);
    for (let row = 0; row < T * B; row++) p.set(biasRow, row * gxH);
    oracle.product(T * B, gxH, width, x.full, x.off, wx, false, p, 0, true);
  } else p = d.normal(T * B * gxH);
  const want = oracle.sequenceForward(spec, { T, B, H, reverse, p, wh, bh, pw, h0, c0 });

  const init = (reverse ? T : 0) * BH;
  const states = (s0: Float64Array) => {
    const all = nan((T + 1) * BH);
    all.set(s0, init);
    return all;
  };
  const WH = wh ? ctx.put(wh) : null;
  const BHb = bh ? ctx.put(bh) : null;
  const PW = pw ? ctx.put(pw) : null;
  const hAll = ctx.put(states(h0));
  const cAll = c0 ? ctx.put(states(c0)) : null;
  const cache = ctx.put(nan(T * B * spec.cacheWidth * H));
  const common = { T, B, H, reverse, wh: WH, pw: PW, hAll, cAll, cache };
  if (narrow && x && wx && biasRow) {
    const input = { x: x.buf, offset: x.off, width, wx: ctx.put(wx), bias: ctx.put(biasRow) };
    await narrow.kernels.forward({ ...common, bh: BHb, input });
  } else await seq.forward({ ...common, bh: BHb, p: ctx.put(p) });
  await ctx.check('fwd', 'hAll', hAll, want.hAll);
  if (cAll) await ctx.check('fwd', 'cAll', cAll, want.cAll!);
  await ctx.check('fwd', 'cache', cache, want.cache);

  const passes = narrow
    ? [
        { label: 'dOut, dhN', dOut: true, dhN: true, dP: true },
        { label: 'dOut, dhN, no dP', dOut: true, dhN: true, dP: false },
      ]
    : [
        { label: 'dOut, dhN', dOut: true, dhN: true, dP: true },
        { label: 'dOut', dOut: true, dhN: false, dP: true },
        { label: 'dhN', dOut: false, dhN: true, dP: true },
      ];
  // the backward reads the oracle's states and cache
  const hAllIn = d.rounded(want.hAll);
  const cAllIn = want.cAll ? d.rounded(want.cAll) : null;
  const cacheIn = d.rounded(want.cache);
  for (const pass of passes) {
    const dOut = pass.dOut ? d.normal(T * BH) : null;
    const dhN = pass.dhN ? d.normal(BH) : null;
    const dcN = pass.dhN && cell ? d.normal(BH) : null;
    const g = oracle.sequenceBackward(spec, {
      T,
      B,
      H,
      reverse,
      wh,
      pw,
      hAll: hAllIn,
      cAll: cAllIn,
      cache: cacheIn,
      dOut,
      dhN,
      dcN,
    });
    const bias = narrow !== null || seq.biasGradients === true;
    const out = {
      dP: pass.dP ? ctx.put(nan(T * B * gxH)) : null,
      dR: spec.gr > 0 ? ctx.put(nan(T * B * grH)) : null,
      dh0: ctx.put(nan(BH)),
      dc0: cell ? ctx.put(nan(BH)) : null,
      dPw: pw ? ctx.put(nan(pw.length)) : null,
      dBx: bias ? ctx.put(nan(spec.nbx * H)) : null,
      dBh: bias && spec.hasBh ? ctx.put(nan(grH)) : null,
    };
    const bargs = {
      ...common,
      hAll: ctx.put(hAllIn),
      cAll: cAllIn ? ctx.put(cAllIn) : null,
      cache: ctx.put(cacheIn),
      dOut: dOut ? ctx.put(dOut) : null,
      dhN: dhN ? ctx.put(dhN) : null,
      dcN: dcN ? ctx.put(dcN) : null,
      ...out,
    };
    const dWx = narrow ? ctx.put(nan(width * gxH)) : null;
    if (narrow && x && dWx) {
      await narrow.kernels.backward({ ...bargs, input: { x: x.buf, offset: x.off, width, dWx } });
    } else await seq.backward({ ...bargs, dP: out.dP! });
    const name = (n: string) => `${n} [${pass.label}]`;
    if (out.dP) await ctx.check('grad', name('dP'), out.dP, g.dP);
    if (out.dR) await ctx.check('grad', name('dR'), out.dR, g.dR!);
    await ctx.check('grad', name('dh0'), out.dh0, g.dh0);
    if (out.dc0) await ctx.check('grad', name('dc0'), out.dc0, g.dc0!);
    if (out.dPw) await ctx.check('grad', name('dPw'), out.dPw, g.dPw!);
    if (out.dBx) await ctx.check('grad', name('dBx'), out.dBx, g.dBx);
    if (out.dBh) await ctx.check('grad', name('dBh'), out.dBh, g.dBh!);
    if (x && dWx) {
      const want = new Float64Array(width * gxH);
      // dWx = xᵀ @ dP over all T·B rows
      for (let row = 0; row < T * B; row++) {
        for (let i = 0; i < width; i++) {
          const xv = x.full[x.off + row * width + i];
          for (let j = 0; j < gxH; j++) want[i * gxH + j] += xv * g.dP[row * gxH + j];
        }
      }
      await ctx.check('grad', name('dWx'), dWx, want);
    }
  }
}
