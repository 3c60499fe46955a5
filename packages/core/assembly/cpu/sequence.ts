// Whole-sequence kernels (kernel level 3): one layer, one direction, all T steps, forward and
// backward. Batch rows are independent through time, so thread `tid` of `nt` owns a contiguous
// block of rows for the whole sequence and never waits for another thread inside the time loop.
// Each step is the recurrent GEMM on those rows (weights packed once per call) followed by the
// cell's pointwise math; nothing is allocated. Layouts are those of core's SequenceForwardArgs.
import {
  bistableState4,
  brcBwd4,
  brcGates4,
  CELL_BRC,
  CELL_GRU,
  CELL_LSTM,
  CELL_NBRC,
  cellCache,
  cellGr,
  cellGx,
  cellHasBh,
  cellNbx,
  cellNpw,
  gruBwd4,
  gruGates4,
  gruState4,
  lstmBwd4,
  lstmGates4,
  lstmState4,
  nbrcBwd4,
  nbrcGates4,
} from './cells';
import { gemmPanels, packB, TILE_BYTES } from './gemm';
import { flush4, madd } from './simd-math';

const STAGE_BYTES: usize = 512;

/**
 * Rows per thread: an equal share, rounded up to an even count. gemmPanels runs one or two rows
 * past its 4-row tiles at half a tile's cost, so 100 rows split 50/50, not 52/48: the thread
 * with the larger share sets the pace of every step.
 */
export function rowsPerThread(B: i32, nt: i32): i32 {
  return (((B + nt - 1) / nt + 1) / 2) * 2;
}

@inline
function rowH0(H: i32): usize {
  return <usize>H * 4;
}

@inline
function up64(x: usize): usize {
  return (x + 63) & ~(<usize>63);
}

/** Widest layer input the kernels project themselves (a narrow input: see seqForward's x). */
export const NARROW_MAX: i32 = 4;

/**
 * Byte offset of region `which` inside one thread's scratch: 0 tile, 1 staging, 2 packed
 * weights, 3 recurrent projection, 4–5 dh carries, 6–7 dc carries, 8 dPw partials, 9 bx and
 * 10 bh gradient partials, 11 one row of input projections (or of their gradient), 12 the input
 * weights' gradient partials, 13 total size. Regions 8, 9, 10 and 12 hold one partial per pair of
 * rows (see PAIR).
 */
export function seqLayout(cell: i32, H: i32, nb: i32, which: i32): usize {
  const gr = <usize>cellGr(cell);
  const h = <usize>H;
  const n = <usize>nb;
  const grH = gr * h;
  const pack = max(ceil8(grH) * h, ceil8(h) * grH);
  const lstm = cell == CELL_LSTM;
  let off: usize = 0;
  for (let i = 0; i < which; i++) {
    let size: usize = 0;
    if (i == 0) size = <usize>TILE_BYTES;
    else if (i == 1) size = STAGE_BYTES;
    else if (i == 2) size = pack * 4;
    else if (i == 3) size = n * grH * 4;
    else if (i == 4 || i == 5) size = n * h * 4;
    else if (i == 6 || i == 7) size = lstm ? n * h * 4 : 0;
    else if (i == 8) size = pairs(nb) * <usize>cellNpw(cell) * h * 4;
    else if (i == 9) size = pairs(nb) * <usize>cellNbx(cell) * h * 4;
    else if (i == 10) size = pairs(nb) * grH * 4;
    else if (i == 11) size = <usize>cellGx(cell) * h * 4;
    else if (i == 12) size = pairs(nb) * <usize>NARROW_MAX * <usize>cellGx(cell) * h * 4;
    off += up64(size);
  }
  return off;
}

/**
 * Rows whose gradient terms share one partial sum. A thread's block of rows starts at a multiple
 * of rowsPerThread, which is even, so every pair lies within one thread whatever the thread
 * count: each pair's partial, and the sum of the pairs in order, come out the same bit for bit
 * on 1 thread or 16, and so do the bias and memory gradients.
 */
const PAIR: i32 = 2;

@inline
function pairs(rows: i32): usize {
  return <usize>((rows + PAIR - 1) / PAIR);
}

@inline
function ceil8(x: usize): usize {
  return ((x + 7) / 8) * 8;
}

// ---------------------------------------------------------------- remainder staging

@inline
function grp(stage: usize, k: i32): usize {
  return stage + <usize>k * 16;
}

/** Copies `rem` (< 4) units of `ng` gates (byte stride gs) into 16-byte groups, zero-padded. */
function gather(dst: usize, src: usize, gs: usize, ng: i32, rem: i32): void {
  for (let g = 0; g < ng; g++) {
    const d = dst + <usize>g * 16;
    v128.store(d, f32x4.splat(0));
    for (let l = 0; l < rem; l++) store<f32>(d + <usize>l * 4, load<f32>(src + <usize>g * gs + <usize>l * 4));
  }
}

function scatter(dst: usize, gs: usize, src: usize, ng: i32, rem: i32): void {
  for (let g = 0; g < ng; g++) {
    for (let l = 0; l < rem; l++) store<f32>(dst + <usize>g * gs + <usize>l * 4, load<f32>(src + <usize>g * 16 + <usize>l * 4));
  }
}

function scatterAdd(dst: usize, gs: usize, src: usize, ng: i32, rem: i32): void {
  for (let g = 0; g < ng; g++) {
    for (let l = 0; l < rem; l++) {
      const d = dst + <usize>g * gs + <usize>l * 4;
      store<f32>(d, load<f32>(d) + load<f32>(src + <usize>g * 16 + <usize>l * 4));
    }
  }
}

// ---------------------------------------------------------------- one row, all H units

function nbrcFwdRow(p: usize, r: usize, h: usize, ho: usize, c: usize, H: i32, st: usize): void {
  const gs = <usize>H * 4;
  const body = H & ~3;
  for (let j = 0; j < body; j += 4) {
    const o = <usize>j * 4;
    nbrcGates4(p + o, gs, r + o, gs, c + o, gs);
  }
  for (let j = 0; j < body; j += 4) {
    const o = <usize>j * 4;
    bistableState4(p + o, gs, h + o, ho + o, c + o, gs);
  }
  const rem = H - body;
  if (rem == 0) return;
  const o = <usize>body * 4;
  gather(grp(st, 0), p + o, gs, 3, rem);
  gather(grp(st, 3), r + o, gs, 2, rem);
  gather(grp(st, 5), h + o, 0, 1, rem);
  nbrcGates4(grp(st, 0), 16, grp(st, 3), 16, grp(st, 7), 16);
  bistableState4(grp(st, 0), 16, grp(st, 5), grp(st, 6), grp(st, 7), 16);
  scatter(ho + o, 0, grp(st, 6), 1, rem);
  scatter(c + o, gs, grp(st, 7), 3, rem);
}

function brcFwdRow(p: usize, m: usize, h: usize, ho: usize, c: usize, H: i32, st: usize): void {
  const gs = <usize>H * 4;
  const body = H & ~3;
  for (let j = 0; j < body; j += 4) {
    const o = <usize>j * 4;
    brcGates4(p + o, gs, m + o, gs, h + o, c + o, gs);
  }
  for (let j = 0; j < body; j += 4) {
    const o = <usize>j * 4;
    bistableState4(p + o, gs, h + o, ho + o, c + o, gs);
  }
  const rem = H - body;
  if (rem == 0) return;
  const o = <usize>body * 4;
  gather(grp(st, 0), p + o, gs, 3, rem);
  gather(grp(st, 3), m + o, gs, 2, rem);
  gather(grp(st, 5), h + o, 0, 1, rem);
  brcGates4(grp(st, 0), 16, grp(st, 3), 16, grp(st, 5), grp(st, 7), 16);
  bistableState4(grp(st, 0), 16, grp(st, 5), grp(st, 6), grp(st, 7), 16);
  scatter(ho + o, 0, grp(st, 6), 1, rem);
  scatter(c + o, gs, grp(st, 7), 3, rem);
}

function gruFwdRow(p: usize, r: usize, h: usize, ho: usize, c: usize, H: i32, st: usize): void {
  const gs = <usize>H * 4;
  const body = H & ~3;
  for (let j = 0; j < body; j += 4) {
    const o = <usize>j * 4;
    gruGates4(p + o, gs, r + o, gs, c + o, gs);
  }
  for (let j = 0; j < body; j += 4) {
    const o = <usize>j * 4;
    gruState4(p + o, gs, r + o, gs, h + o, ho + o, c + o, gs);
  }
  const rem = H - body;
  if (rem == 0) return;
  const o = <usize>body * 4;
  gather(grp(st, 0), p + o, gs, 3, rem);
  gather(grp(st, 3), r + o, gs, 3, rem);
  gather(grp(st, 6), h + o, 0, 1, rem);
  gruGates4(grp(st, 0), 16, grp(st, 3), 16, grp(st, 8), 16);
  gruState4(grp(st, 0), 16, grp(st, 3), 16, grp(st, 6), grp(st, 7), grp(st, 8), 16);
  scatter(ho + o, 0, grp(st, 7), 1, rem);
  scatter(c + o, gs, grp(st, 8), 4, rem);
}

function lstmFwdRow(p: usize, r: usize, cp: usize, co: usize, ho: usize, c: usize, H: i32, st: usize): void {
  const gs = <usize>H * 4;
  const body = H & ~3;
  for (let j = 0; j < body; j += 4) {
    const o = <usize>j * 4;
    lstmGates4(p + o, gs, r + o, gs, c + o, gs);
  }
  for (let j = 0; j < body; j += 4) {
    const o = <usize>j * 4;
    lstmState4(cp + o, co + o, ho + o, c + o, gs);
  }
  const rem = H - body;
  if (rem == 0) return;
  const o = <usize>body * 4;
  gather(grp(st, 0), p + o, gs, 4, rem);
  gather(grp(st, 4), r + o, gs, 4, rem);
  gather(grp(st, 8), cp + o, 0, 1, rem);
  lstmGates4(grp(st, 0), 16, grp(st, 4), 16, grp(st, 11), 16);
  lstmState4(grp(st, 8), grp(st, 9), grp(st, 10), grp(st, 11), 16);
  scatter(co + o, 0, grp(st, 9), 1, rem);
  scatter(ho + o, 0, grp(st, 10), 1, rem);
  scatter(c + o, gs, grp(st, 11), 5, rem);
}

function nbrcBwdRow(dout: usize, dh: usize, h: usize, c: usize, dp: usize, dr: usize, dhp: usize, H: i32, st: usize): void {
  const gs = <usize>H * 4;
  let j = 0;
  for (; j + 4 <= H; j += 4) {
    const o = <usize>j * 4;
    nbrcBwd4(dout != 0 ? dout + o : 0, dh + o, h + o, c + o, gs, dp + o, gs, dr + o, gs, dhp + o);
  }
  const rem = H - j;
  if (rem == 0) return;
  const o = <usize>j * 4;
  if (dout != 0) gather(grp(st, 0), dout + o, 0, 1, rem);
  gather(grp(st, 1), dh + o, 0, 1, rem);
  gather(grp(st, 2), h + o, 0, 1, rem);
  gather(grp(st, 3), c + o, gs, 3, rem);
  nbrcBwd4(dout != 0 ? grp(st, 0) : 0, grp(st, 1), grp(st, 2), grp(st, 3), 16, grp(st, 6), 16, grp(st, 9), 16, grp(st, 11));
  scatter(dp + o, gs, grp(st, 6), 3, rem);
  scatter(dr + o, gs, grp(st, 9), 2, rem);
  scatter(dhp + o, 0, grp(st, 11), 1, rem);
}

function brcBwdRow(
  dout: usize,
  dh: usize,
  h: usize,
  c: usize,
  dp: usize,
  m: usize,
  dhp: usize,
  dpw: usize,
  H: i32,
  st: usize,
): void {
  const gs = <usize>H * 4;
  let j = 0;
  for (; j + 4 <= H; j += 4) {
    const o = <usize>j * 4;
    brcBwd4(dout != 0 ? dout + o : 0, dh + o, h + o, c + o, gs, dp + o, gs, m + o, gs, dhp + o, dpw + o);
  }
  const rem = H - j;
  if (rem == 0) return;
  const o = <usize>j * 4;
  if (dout != 0) gather(grp(st, 0), dout + o, 0, 1, rem);
  gather(grp(st, 1), dh + o, 0, 1, rem);
  gather(grp(st, 2), h + o, 0, 1, rem);
  gather(grp(st, 3), c + o, gs, 3, rem);
  gather(grp(st, 6), m + o, gs, 2, rem);
  v128.store(grp(st, 12), f32x4.splat(0));
  v128.store(grp(st, 13), f32x4.splat(0));
  brcBwd4(dout != 0 ? grp(st, 0) : 0, grp(st, 1), grp(st, 2), grp(st, 3), 16, grp(st, 8), 16, grp(st, 6), 16, grp(st, 11), grp(st, 12));
  scatter(dp + o, gs, grp(st, 8), 3, rem);
  scatter(dhp + o, 0, grp(st, 11), 1, rem);
  scatterAdd(dpw + o, gs, grp(st, 12), 2, rem);
}

function gruBwdRow(dout: usize, dh: usize, h: usize, c: usize, dp: usize, dr: usize, dhp: usize, H: i32, st: usize): void {
  const gs = <usize>H * 4;
  let j = 0;
  for (; j + 4 <= H; j += 4) {
    const o = <usize>j * 4;
    gruBwd4(dout != 0 ? dout + o : 0, dh + o, h + o, c + o, gs, dp + o, gs, dr + o, gs, dhp + o);
  }
  const rem = H - j;
  if (rem == 0) return;
  const o = <usize>j * 4;
  if (dout != 0) gather(grp(st, 0), dout + o, 0, 1, rem);
  gather(grp(st, 1), dh + o, 0, 1, rem);
  gather(grp(st, 2), h + o, 0, 1, rem);
  gather(grp(st, 3), c + o, gs, 4, rem);
  gruBwd4(dout != 0 ? grp(st, 0) : 0, grp(st, 1), grp(st, 2), grp(st, 3), 16, grp(st, 7), 16, grp(st, 10), 16, grp(st, 13));
  scatter(dp + o, gs, grp(st, 7), 3, rem);
  scatter(dr + o, gs, grp(st, 10), 3, rem);
  scatter(dhp + o, 0, grp(st, 13), 1, rem);
}

function lstmBwdRow(
  dout: usize,
  dh: usize,
  dc: usize,
  c: usize,
  cp: usize,
  dp: usize,
  dr: usize,
  dhp: usize,
  dcp: usize,
  H: i32,
  st: usize,
): void {
  const gs = <usize>H * 4;
  let j = 0;
  for (; j + 4 <= H; j += 4) {
    const o = <usize>j * 4;
    lstmBwd4(dout != 0 ? dout + o : 0, dh + o, dc + o, c + o, gs, cp + o, dp + o, gs, dr + o, gs, dhp + o, dcp + o);
  }
  const rem = H - j;
  if (rem == 0) return;
  const o = <usize>j * 4;
  if (dout != 0) gather(grp(st, 0), dout + o, 0, 1, rem);
  gather(grp(st, 1), dh + o, 0, 1, rem);
  gather(grp(st, 2), dc + o, 0, 1, rem);
  gather(grp(st, 3), c + o, gs, 5, rem);
  gather(grp(st, 8), cp + o, 0, 1, rem);
  lstmBwd4(
    dout != 0 ? grp(st, 0) : 0,
    grp(st, 1),
    grp(st, 2),
    grp(st, 3),
    16,
    grp(st, 8),
    grp(st, 9),
    16,
    grp(st, 13),
    16,
    grp(st, 17),
    grp(st, 18),
  );
  scatter(dp + o, gs, grp(st, 9), 4, rem);
  scatter(dr + o, gs, grp(st, 13), 4, rem);
  scatter(dhp + o, 0, grp(st, 17), 1, rem);
  scatter(dcp + o, 0, grp(st, 18), 1, rem);
}

function flushRange(p: usize, n: i32): void {
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const q = p + <usize>i * 4;
    v128.store(q, flush4(v128.load(q)));
  }
  for (; i < n; i++) {
    const q = p + <usize>i * 4;
    const v = load<f32>(q);
    if (Mathf.abs(v) < 1e-30) store<f32>(q, 0);
  }
}

// ---------------------------------------------------------------- narrow inputs

/**
 * One row of input projections from a narrow input: dst[0:n] = Σ_i x[i]·wx[i, 0:n] + bias (n =
 * gx·H, bias 0 for none), summed in the order the GEMM path sums them.
 */
function projectRow(dst: usize, x: usize, xw: i32, wx: usize, bias: usize, n: i32): void {
  const ld = <usize>n * 4;
  const n4 = n & ~3;
  for (let j = 0; j < n4; j += 4) {
    const o = <usize>j * 4;
    let v = f32x4.splat(0);
    for (let i = 0; i < xw; i++) v = madd(v128.load32_splat(x + <usize>i * 4), v128.load(wx + <usize>i * ld + o), v);
    if (bias != 0) v = f32x4.add(v, v128.load(bias + o));
    v128.store(dst + o, v);
  }
  for (let j = n4; j < n; j++) {
    const o = <usize>j * 4;
    let v: f32 = 0;
    for (let i = 0; i < xw; i++) v += load<f32>(x + <usize>i * 4) * load<f32>(wx + <usize>i * ld + o);
    if (bias != 0) v += load<f32>(bias + o);
    store<f32>(dst + o, v);
  }
}

/** acc[i, 0:n] += x[i]·row[0:n] for i < xw: the input weights' gradient, one row at a time. */
function addOuter(acc: usize, x: usize, xw: i32, row: usize, n: i32): void {
  const ld = <usize>n * 4;
  const n4 = n & ~3;
  for (let i = 0; i < xw; i++) {
    const xi = load<f32>(x + <usize>i * 4);
    const xv = f32x4.splat(xi);
    const a = acc + <usize>i * ld;
    for (let j = 0; j < n4; j += 4) {
      const o = <usize>j * 4;
      v128.store(a + o, madd(xv, v128.load(row + o), v128.load(a + o)));
    }
    for (let j = n4; j < n; j++) {
      const o = <usize>j * 4;
      store<f32>(a + o, load<f32>(a + o) + xi * load<f32>(row + o));
    }
  }
}

// ---------------------------------------------------------------- the time loops

/**
 * Forward over T steps for this thread's rows. Pointers are byte addresses; 0 means absent; `mr`
 * is the GEMM tile height (4 or 6, see gemm.ts). With a narrow input (`x` ≠ 0: [T·B, xw] rows,
 * xw ≤ NARROW_MAX, weights `wx` [xw, gx·H], bias row `xb`), each row's projections are computed
 * here into scratch and `p` is not read.
 */
export function seqForward(
  tid: i32,
  nt: i32,
  cell: i32,
  T: i32,
  B: i32,
  H: i32,
  reverse: i32,
  p: usize,
  wh: usize,
  bh: usize,
  pw: usize,
  hAll: usize,
  cAll: usize,
  cache: usize,
  x: usize,
  xw: i32,
  wx: usize,
  xb: usize,
  scratch: usize,
  stride: i32,
  mr: i32,
): void {
  const nb = rowsPerThread(B, nt);
  const b0 = tid * nb;
  if (b0 >= B) return;
  const rows = min(nb, B - b0);
  const gx = <usize>cellGx(cell);
  const gr = cellGr(cell);
  const cw = <usize>cellCache(cell);
  const h = <usize>H;
  const grH = gr * H;
  const ws = scratch + <usize>tid * <usize>stride;
  const tile = ws + seqLayout(cell, H, nb, 0);
  const st = ws + seqLayout(cell, H, nb, 1);
  const bpack = ws + seqLayout(cell, H, nb, 2);
  const r = ws + seqLayout(cell, H, nb, 3);
  const xrow = ws + seqLayout(cell, H, nb, 11);
  const gxH = <i32>gx * H;
  if (gr > 0) packB(wh, grH, false, 0, H, 0, grH, bpack);
  const rowH = h * 4;
  for (let i = 0; i < T; i++) {
    const t = reverse ? T - 1 - i : i;
    const prev = reverse ? t + 1 : t;
    const out = reverse ? t : t + 1;
    const hp = hAll + (<usize>(prev * B + b0) * h) * 4;
    const ho = hAll + (<usize>(out * B + b0) * h) * 4;
    const pp = p + (<usize>(t * B + b0) * gx * h) * 4;
    const cc = cache + (<usize>(t * B + b0) * cw * h) * 4;
    if (gr > 0) gemmPanels(hp, rowH, 4, rows, H, bpack, grH, r, <usize>grH * 4, 1, 0, bh, tile, mr);
    for (let b = 0; b < rows; b++) {
      const rb = <usize>b;
      let prow = pp + rb * gx * rowH;
      if (x != 0) {
        projectRow(xrow, x + (<usize>(t * B + b0 + b) * <usize>xw) * 4, xw, wx, xb, gxH);
        prow = xrow;
      }
      const crow = cc + rb * cw * rowH;
      const hrow = hp + rb * rowH;
      const orow = ho + rb * rowH;
      if (cell == CELL_NBRC) nbrcFwdRow(prow, r + rb * <usize>grH * 4, hrow, orow, crow, H, st);
      else if (cell == CELL_BRC) brcFwdRow(prow, pw, hrow, orow, crow, H, st);
      else if (cell == CELL_GRU) gruFwdRow(prow, r + rb * <usize>grH * 4, hrow, orow, crow, H, st);
      else {
        const cpRow = cAll + (<usize>(prev * B + b0) * h) * 4 + rb * rowH;
        const coRow = cAll + (<usize>(out * B + b0) * h) * 4 + rb * rowH;
        lstmFwdRow(prow, r + rb * <usize>grH * 4, cpRow, coRow, orow, crow, H, st);
      }
    }
  }
}

/** Backpropagation through time for this thread's rows (see core's SequenceBackwardArgs). */
export function seqBackward(
  tid: i32,
  nt: i32,
  cell: i32,
  T: i32,
  B: i32,
  H: i32,
  reverse: i32,
  wh: usize,
  pw: usize,
  hAll: usize,
  cAll: usize,
  cache: usize,
  dOut: usize,
  dhN: usize,
  dcN: usize,
  dP: usize,
  dR: usize,
  dh0: usize,
  dc0: usize,
  sumBias: i32,
  x: usize,
  xw: i32,
  scratch: usize,
  stride: i32,
  mr: i32,
): void {
  const nb = rowsPerThread(B, nt);
  const b0 = tid * nb;
  if (b0 >= B) return;
  const rows = min(nb, B - b0);
  const gx = <usize>cellGx(cell);
  const gr = cellGr(cell);
  const cw = <usize>cellCache(cell);
  const h = <usize>H;
  const grH = gr * H;
  const ws = scratch + <usize>tid * <usize>stride;
  const tile = ws + seqLayout(cell, H, nb, 0);
  const st = ws + seqLayout(cell, H, nb, 1);
  const bpack = ws + seqLayout(cell, H, nb, 2);
  let cur = ws + seqLayout(cell, H, nb, 4);
  let nxt = ws + seqLayout(cell, H, nb, 5);
  let curC = ws + seqLayout(cell, H, nb, 6);
  let nxtC = ws + seqLayout(cell, H, nb, 7);
  // one partial per pair of rows (PAIR), so the sums do not depend on the thread count
  const np = pairs(rows);
  const dpw = ws + seqLayout(cell, H, nb, 8);
  const dpwBytes = <usize>cellNpw(cell) * rowH0(H);
  // bias gradients: column sums of dP (its biased columns) and dR, taken while their rows are hot
  const nbxH = cellNbx(cell) * H;
  const sbx = sumBias != 0 ? ws + seqLayout(cell, H, nb, 9) : 0;
  const sbh = sumBias != 0 && cellHasBh(cell) ? ws + seqLayout(cell, H, nb, 10) : 0;
  if (sbx != 0) memory.fill(sbx, 0, np * <usize>nbxH * 4);
  if (sbh != 0) memory.fill(sbh, 0, np * <usize>grH * 4);
  // a narrow input's weight gradient, summed like the biases; dP itself is then written only when
  // given (0: this thread's rows of it pass through one scratch row)
  const gxH = <i32>gx * H;
  const swx = x != 0 ? ws + seqLayout(cell, H, nb, 12) : 0;
  const xrow = ws + seqLayout(cell, H, nb, 11);
  if (swx != 0) memory.fill(swx, 0, np * <usize>xw * <usize>gxH * 4);
  const rowH = h * 4;
  const block = <usize>rows * rowH;
  const first = <usize>b0 * rowH;
  if (dhN != 0) memory.copy(cur, dhN + first, block);
  else memory.fill(cur, 0, block);
  if (cell == CELL_LSTM) {
    if (dcN != 0) memory.copy(curC, dcN + first, block);
    else memory.fill(curC, 0, block);
  }
  if (cell == CELL_BRC) memory.fill(dpw, 0, np * dpwBytes);
  // dL/dh_{t-1} += dR_t @ whᵀ: B operand (p, j) = wh[j·grH + p], packed once
  if (gr > 0) packB(wh, grH, true, 0, grH, 0, H, bpack);
  for (let i = 0; i < T; i++) {
    const t = reverse ? i : T - 1 - i;
    const prev = reverse ? t + 1 : t;
    const tb = <usize>(t * B + b0);
    const hp = hAll + (<usize>(prev * B + b0) * h) * 4;
    const cc = cache + tb * cw * rowH;
    const dpp = dP + tb * gx * rowH;
    const drp = dR != 0 ? dR + tb * <usize>grH * 4 : 0;
    const dop = dOut != 0 ? dOut + tb * rowH : 0;
    for (let b = 0; b < rows; b++) {
      const rb = <usize>b;
      const pair = <usize>(b / PAIR);
      const dob = dop != 0 ? dop + rb * rowH : 0;
      const o = rb * rowH;
      const crow = cc + rb * cw * rowH;
      const dprow = dP != 0 ? dpp + rb * gx * rowH : xrow;
      if (cell == CELL_NBRC) {
        nbrcBwdRow(dob, cur + o, hp + o, crow, dprow, drp + rb * <usize>grH * 4, nxt + o, H, st);
      } else if (cell == CELL_BRC) {
        brcBwdRow(dob, cur + o, hp + o, crow, dprow, pw, nxt + o, dpw + pair * dpwBytes, H, st);
      } else if (cell == CELL_GRU) {
        gruBwdRow(dob, cur + o, hp + o, crow, dprow, drp + rb * <usize>grH * 4, nxt + o, H, st);
      } else {
        const cpRow = cAll + (<usize>(prev * B + b0) * h) * 4 + o;
        lstmBwdRow(dob, cur + o, curC + o, crow, cpRow, dprow, drp + rb * <usize>grH * 4, nxt + o, nxtC + o, H, st);
      }
      if (sbx != 0) addRow(sbx + pair * <usize>nbxH * 4, dprow, nbxH);
      if (swx != 0) addOuter(swx + pair * <usize>xw * <usize>gxH * 4, x + (tb + rb) * <usize>xw * 4, xw, dprow, gxH);
      if (sbh != 0) addRow(sbh + pair * <usize>grH * 4, drp + rb * <usize>grH * 4, grH);
    }
    if (gr > 0) {
      gemmPanels(drp, <usize>grH * 4, 4, rows, grH, bpack, H, nxt, rowH, 1, 1, 0, tile, mr);
      flushRange(nxt, rows * H);
    }
    let sw = cur;
    cur = nxt;
    nxt = sw;
    sw = curC;
    curC = nxtC;
    nxtC = sw;
  }
  memory.copy(dh0 + first, cur, block);
  if (cell == CELL_LSTM) memory.copy(dc0 + first, curC, block);
}

/** acc[0:n] += row[0:n]. */
function addRow(acc: usize, row: usize, n: i32): void {
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const o = <usize>i * 4;
    v128.store(acc + o, f32x4.add(v128.load(acc + o), v128.load(row + o)));
  }
  for (; i < n; i++) {
    const o = <usize>i * 4;
    store<f32>(acc + o, load<f32>(acc + o) + load<f32>(row + o));
  }
}

/**
 * The pair partials (n floats each) of region `which` summed into `dst` (overwritten), pair by
 * pair in row order: the same additions in the same order for any thread count.
 */
function reduceRegion(cell: i32, nt: i32, B: i32, H: i32, which: i32, n: i32, dst: usize, scratch: usize, stride: i32): void {
  const nb = rowsPerThread(B, nt);
  const active = (B + nb - 1) / nb;
  const off = seqLayout(cell, H, nb, which);
  memory.fill(dst, 0, <usize>n * 4);
  for (let k = 0; k < active; k++) {
    const base = scratch + <usize>k * <usize>stride + off;
    const np = pairs(min(nb, B - k * nb));
    for (let p: usize = 0; p < np; p++) addRow(dst, base + p * <usize>n * 4, n);
  }
}

/**
 * After seqBackward: BRC's memory gradient (dPw, 0 for none), the bias gradients (dBx, dBh, 0 for
 * none; seqBackward must have run with sumBias) and a narrow input's weight gradient (dWx, xw
 * rows; 0 for none) as the sums of every thread's partial.
 */
export function seqReduce(
  cell: i32,
  nt: i32,
  B: i32,
  H: i32,
  dPw: usize,
  dBx: usize,
  dBh: usize,
  dWx: usize,
  xw: i32,
  scratch: usize,
  stride: i32,
): void {
  if (dPw != 0) reduceRegion(cell, nt, B, H, 8, cellNpw(cell) * H, dPw, scratch, stride);
  if (dBx != 0) reduceRegion(cell, nt, B, H, 9, cellNbx(cell) * H, dBx, scratch, stride);
  if (dBh != 0) reduceRegion(cell, nt, B, H, 10, cellGr(cell) * H, dBh, scratch, stride);
  if (dWx != 0) reduceRegion(cell, nt, B, H, 12, xw * cellGx(cell) * H, dWx, scratch, stride);
}

export function seqScratchBytes(cell: i32, B: i32, H: i32, nt: i32): i32 {
  return <i32>seqLayout(cell, H, rowsPerThread(B, nt), 13);
}
