import {
  CELLS,
  type CellName,
  type DeviceBuffer,
  type RecurrentCarry,
  type RecurrentWeights,
  type StepBackwardArgs,
  type StepForwardArgs,
} from '@bistable/core';
import { CELL_KERNELS } from '../kernels/index.js';
import type { GpujsBuffer, Scope, View } from '../store/store.js';

const gb = (b: DeviceBuffer | null) => b as GpujsBuffer;
/** A view as the (array, offset) argument pair every kernel takes. */
const at = (v: View) => [v.val, v.off];

/**
 * One forward step: the cell's kernel writes [cache | h' (| c')] in one launch, and those three
 * ranges are committed where core asked for them. With `fused` (level 3), R = h @ wh + bh is
 * computed inside the kernel and `a.r` is not read.
 */
export async function stepForwardOp(
  s: Scope,
  cell: CellName,
  a: StepForwardArgs<DeviceBuffer>,
  fused: RecurrentWeights | null,
): Promise<void> {
  const spec = CELLS[cell];
  const ks = CELL_KERNELS[cell];
  const { B, H } = a;
  const BH = B * H;
  const cacheLen = BH * spec.cacheWidth;
  const outLen = cacheLen + BH * (spec.hasCellState ? 2 : 1);
  const p = await s.view(gb(a.p), a.pOff, BH * spec.gx);
  let args: unknown[];
  let src = ks.forward;
  if (cell === 'BRC') {
    const pw = await s.view(gb(a.pw), 0, 2 * H);
    const hp = await s.view(gb(a.hPrev), a.hPrevOff, BH);
    args = [...at(p), ...at(pw), ...at(hp), B, H];
  } else if (fused) {
    src = ks.forwardFused!;
    const grH = spec.gr * H;
    const wh = await s.view(gb(fused.wh), 0, H * grH);
    const bh = fused.bh ? await s.view(gb(fused.bh), 0, grH) : null;
    const hp = await s.view(gb(a.hPrev), a.hPrevOff, BH);
    if (cell === 'nBRC') args = [...at(p), ...at(wh), ...at(hp), B, H];
    else if (cell === 'GRU') args = [...at(p), ...at(wh), ...at(bh!), ...at(hp), B, H];
    else {
      const cp = await s.view(gb(a.cPrev), a.cPrevOff, BH);
      args = [...at(p), ...at(wh), ...at(bh!), ...at(hp), ...at(cp), B, H];
    }
  } else {
    const r = await s.view(gb(a.r), a.rOff, BH * spec.gr);
    if (cell === 'LSTM') {
      const cp = await s.view(gb(a.cPrev), a.cPrevOff, BH);
      args = [...at(p), ...at(r), ...at(cp), B, H];
    } else {
      const hp = await s.view(gb(a.hPrev), a.hPrevOff, BH);
      args = [...at(p), ...at(r), ...at(hp), B, H];
    }
  }
  const out = await s.run(src, outLen, args);
  s.commit(out, 0, gb(a.cache), a.cacheOff, cacheLen);
  s.commit(out, cacheLen, gb(a.hOut), a.hOutOff, BH);
  if (spec.hasCellState) s.commit(out, cacheLen + BH, gb(a.cOut), a.cOutOff, BH);
}

/**
 * One backward step (core's semantics: writes dP, dR, the pointwise dhPrev and dcPrev, adds into
 * dPw) in one launch whose output blocks are committed to their buffers. With `carry` (level 3),
 * the gradient reaching h_t is dhCarry + carry.dR @ whᵀ (+ dOut): the GEMM core would run between
 * two steps happens inside this kernel.
 */
export async function stepBackwardOp(
  s: Scope,
  cell: CellName,
  a: StepBackwardArgs<DeviceBuffer>,
  carry: RecurrentCarry | null,
): Promise<void> {
  const spec = CELLS[cell];
  const ks = CELL_KERNELS[cell];
  const { B, H } = a;
  const BH = B * H;
  const dhc = await s.view(gb(a.dhCarry), a.dhCarryOff, BH);
  // without dOut the kernel is told so and reads dhCarry in its place, so every read stays in range
  const dOut = a.dOut ? await s.view(gb(a.dOut), a.dOutOff, BH) : dhc;
  const head = [...at(dOut), a.dOut ? 1 : 0, ...at(dhc)];
  if (cell !== 'BRC') {
    // without a carry the kernel reads dhCarry in place of dRn and wh, and skips them
    const dRn = carry ? await s.view(gb(carry.dR), carry.dROff, BH * spec.gr) : dhc;
    const wh = carry ? await s.view(gb(carry.wh), 0, H * spec.gr * H) : dhc;
    head.push(...at(dRn), ...at(wh), carry ? 1 : 0);
  }
  const cache = await s.view(gb(a.cache), a.cacheOff, BH * spec.cacheWidth);
  const pLen = BH * spec.gx;
  if (cell === 'LSTM') {
    const dcc = await s.view(gb(a.dcCarry), a.dcCarryOff, BH);
    const cp = await s.view(gb(a.cPrev), a.cPrevOff, BH);
    const out = await s.run(ks.backward, pLen + BH, [...head, ...at(dcc), ...at(cache), ...at(cp), B, H]);
    s.commit(out, 0, gb(a.dP), a.dPOff, pLen);
    s.commit(out, 0, gb(a.dR), a.dROff, pLen);
    s.commit(out, pLen, gb(a.dcPrev), a.dcPrevOff, BH);
    s.fill(gb(a.dhPrev), a.dhPrevOff, BH, 0);
    return;
  }
  const hp = await s.view(gb(a.hPrev), a.hPrevOff, BH);
  if (cell === 'BRC') {
    const pw = await s.view(gb(a.pw), 0, 2 * H);
    const dPw = await s.view(gb(a.dPw), 0, 2 * H);
    const out = await s.run(ks.backward, pLen + BH + 2 * H, [
      ...head,
      ...at(cache),
      ...at(hp),
      ...at(pw),
      ...at(dPw),
      B,
      H,
    ]);
    s.commit(out, 0, gb(a.dP), a.dPOff, pLen);
    s.commit(out, pLen, gb(a.dhPrev), a.dhPrevOff, BH);
    s.commit(out, pLen + BH, gb(a.dPw), 0, 2 * H);
    return;
  }
  const rLen = BH * spec.gr;
  const out = await s.run(ks.backward, pLen + rLen + BH, [...head, ...at(cache), ...at(hp), B, H]);
  s.commit(out, 0, gb(a.dP), a.dPOff, pLen);
  s.commit(out, pLen, gb(a.dR), a.dROff, rLen);
  s.commit(out, pLen + rLen, gb(a.dhPrev), a.dhPrevOff, BH);
}
