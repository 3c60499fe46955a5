import type {
  Backend,
  DeviceBuffer,
  RecurrentCarry,
  RecurrentWeights,
  SequenceBackwardArgs,
  SequenceForwardArgs,
  StepBackwardArgs,
  StepForwardArgs,
  StepKernels,
} from '../backend/types.js';
import type { CellSpec } from '../cells/spec.js';
import { addBiasRows, matmul } from './gemm-helpers.js';

/** A step kernel pair as the loops drive it: a backend's level 2, or core's host adapter. */
export type StepDriver = StepKernels;

/** Scratch a step loop needs beyond its arguments: reused, never allocated per step. */
export interface StepScratch {
  /**
   * [B] ones and the [B, gr·H] recurrent projection of the current step: used only by loops that
   * run the recurrent GEMM themselves (null for a driver that `fusesRecurrent`, and for BRC).
   */
  ones: DeviceBuffer | null;
  r: DeviceBuffer | null;
  /** Two [B, H] (and for LSTM two more) carries that swap roles every step. */
  dh: [DeviceBuffer, DeviceBuffer];
  dc: [DeviceBuffer, DeviceBuffer] | null;
}

/** Slot of the previous state and of the output, for time index t (see SequenceForwardArgs). */
export function slots(t: number, reverse: boolean): { prev: number; out: number } {
  return reverse ? { prev: t + 1, out: t } : { prev: t, out: t + 1 };
}

/**
 * Runs the recurrence one step at a time: a GEMM for R, then the cell's pointwise step (or only
 * the step, which computes R itself, when the driver `fusesRecurrent`).
 */
export async function forwardSteps(
  be: Backend,
  spec: CellSpec,
  a: SequenceForwardArgs,
  step: StepDriver,
  s: StepScratch,
): Promise<void> {
  const { T, B, H } = a;
  const BH = B * H;
  const gxH = spec.gx * H;
  const grH = spec.gr * H;
  const rec: RecurrentWeights | null =
    step.fusesRecurrent === true && spec.gr > 0 ? { wh: a.wh!, bh: a.bh } : null;
  for (let i = 0; i < T; i++) {
    const t = a.reverse ? T - 1 - i : i;
    const { prev, out } = slots(t, a.reverse);
    if (spec.gr > 0 && !rec) {
      if (a.bh) addBiasRows(be, s.ones!, a.bh, B, grH, s.r!, 0, grH, false);
      matmul(be, {
        m: B,
        n: grH,
        k: H,
        a: a.hAll,
        aOffset: prev * BH,
        b: a.wh!,
        c: s.r!,
        accumulate: a.bh !== null,
      });
    }
    const args: StepForwardArgs<DeviceBuffer> = {
      B,
      H,
      p: a.p,
      pOff: t * B * gxH,
      r: rec ? null : s.r,
      rOff: 0,
      pw: a.pw,
      hPrev: a.hAll,
      hPrevOff: prev * BH,
      cPrev: a.cAll,
      cPrevOff: prev * BH,
      hOut: a.hAll,
      hOutOff: out * BH,
      cOut: a.cAll,
      cOutOff: out * BH,
      cache: a.cache,
      cacheOff: t * B * spec.cacheWidth * H,
    };
    await (rec ? step.forward(args, rec) : step.forward(args));
  }
}

/**
 * Backpropagation through time, one step at a time, in the reverse of the forward order. Each
 * step's dR @ whᵀ is added to the gradient reaching h_{t-1} by a GEMM after the step, or, when the
 * driver `fusesRecurrent`, by the next step's kernel (and, for the last step, by a GEMM into dh0).
 */
export async function backwardSteps(
  be: Backend,
  spec: CellSpec,
  a: SequenceBackwardArgs,
  step: StepDriver,
  s: StepScratch,
): Promise<void> {
  const { T, B, H } = a;
  const BH = B * H;
  const gxH = spec.gx * H;
  const grH = spec.gr * H;
  const fused = step.fusesRecurrent === true && spec.gr > 0;
  // c += dR[dROff] @ whᵀ: dL/dh_{t-1} through the recurrent product
  const addRecurrent = (dROff: number, c: DeviceBuffer) =>
    matmul(be, {
      m: B,
      n: H,
      k: grH,
      a: a.dR!,
      aOffset: dROff,
      b: a.wh!,
      transB: true,
      ldb: grH,
      c,
      accumulate: true,
    });
  let carry: RecurrentCarry | null = null;
  let [cur, next] = s.dh;
  let [curC, nextC] = s.dc ?? [null, null];
  if (a.dhN) be.copy(a.dhN, 0, cur, 0, BH);
  else be.fill(cur, 0, 0, BH);
  if (curC) {
    if (a.dcN) be.copy(a.dcN, 0, curC, 0, BH);
    else be.fill(curC, 0, 0, BH);
  }
  if (a.dPw) be.fill(a.dPw, 0);
  for (let i = 0; i < T; i++) {
    const t = a.reverse ? i : T - 1 - i;
    const { prev } = slots(t, a.reverse);
    const args: StepBackwardArgs<DeviceBuffer> = {
      B,
      H,
      dOut: a.dOut,
      dOutOff: t * BH,
      dhCarry: cur,
      dhCarryOff: 0,
      dcCarry: curC,
      dcCarryOff: 0,
      cache: a.cache,
      cacheOff: t * B * spec.cacheWidth * H,
      hPrev: a.hAll,
      hPrevOff: prev * BH,
      cPrev: a.cAll,
      cPrevOff: prev * BH,
      pw: a.pw,
      dP: a.dP,
      dPOff: t * B * gxH,
      dR: a.dR,
      dROff: t * B * grH,
      dhPrev: next,
      dhPrevOff: 0,
      dcPrev: nextC,
      dcPrevOff: 0,
      dPw: a.dPw,
    };
    await (fused ? step.backward(args, carry) : step.backward(args));
    if (fused) carry = { dR: a.dR!, dROff: t * B * grH, wh: a.wh! };
    else if (spec.gr > 0) addRecurrent(t * B * grH, next);
    [cur, next] = [next, cur];
    [curC, nextC] = [nextC, curC];
  }
  be.copy(cur, 0, a.dh0, 0, BH);
  // the last step's product, which no later kernel took in
  if (carry) addRecurrent(carry.dROff, a.dh0);
  if (a.dc0 && curC) be.copy(curC, 0, a.dc0, 0, BH);
}
