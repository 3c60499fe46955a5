import type {
  Backend,
  DeviceBuffer,
  SequenceBackwardArgs,
  SequenceForwardArgs,
  StepBackwardArgs,
  StepForwardArgs,
} from '../backend/types.js';
import type { CellSpec } from '../cells/spec.js';
import { addBiasRows, matmul } from './gemm-helpers.js';

/** A step kernel pair; level 1's host adapter is asynchronous, fused ones are not. */
export interface StepDriver {
  forward(a: StepForwardArgs<DeviceBuffer>): void | Promise<void>;
  backward(a: StepBackwardArgs<DeviceBuffer>): void | Promise<void>;
}

/** Scratch a step loop needs beyond its arguments: reused, never allocated per step. */
export interface StepScratch {
  ones: DeviceBuffer;
  /** [B, gr·H] recurrent projection of the current step. */
  r: DeviceBuffer | null;
  /** Two [B, H] (and for LSTM two more) carries that swap roles every step. */
  dh: [DeviceBuffer, DeviceBuffer];
  dc: [DeviceBuffer, DeviceBuffer] | null;
}

/** Slot of the previous state and of the output, for time index t (see SequenceForwardArgs). */
export function slots(t: number, reverse: boolean): { prev: number; out: number } {
  return reverse ? { prev: t + 1, out: t } : { prev: t, out: t + 1 };
}

/** Runs the recurrence one step at a time: a GEMM for R, then the cell's pointwise step. */
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
  for (let i = 0; i < T; i++) {
    const t = a.reverse ? T - 1 - i : i;
    const { prev, out } = slots(t, a.reverse);
    if (spec.gr > 0) {
      if (a.bh) addBiasRows(be, s.ones, a.bh, B, grH, s.r!, 0, grH, false);
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
    await step.forward({
      B,
      H,
      p: a.p,
      pOff: t * B * gxH,
      r: s.r,
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
    });
  }
}

/** Backpropagation through time, one step at a time, in the reverse of the forward order. */
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
    await step.backward({
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
    });
    if (spec.gr > 0) {
      // dL/dh_{t-1} += dR_t @ whᵀ
      matmul(be, {
        m: B,
        n: H,
        k: grH,
        a: a.dR!,
        aOffset: t * B * grH,
        b: a.wh!,
        transB: true,
        ldb: grH,
        c: next,
        accumulate: true,
      });
    }
    [cur, next] = [next, cur];
    [curC, nextC] = [nextC, curC];
  }
  be.copy(cur, 0, a.dh0, 0, BH);
  if (a.dc0 && curC) be.copy(curC, 0, a.dc0, 0, BH);
}
