import type { DeviceBuffer, GemmArgs } from '@bistable/core';
import { wgslRunner } from './runner.js';
import { each, flatEntry, flatGroups } from './wgsl-common.js';

/** Output tile of a workgroup (TILE × TILE), its K step, and threads (16 × 16, 4 × 4 outputs each). */
export const TILE = 64;
export const KT = 16;
/** vec4 slots per K row of a tile in workgroup memory: 16, plus one that spreads stores over banks. */
const ROW = 17;
/** Work the split-K plan aims for: enough workgroups to fill a large GPU. */
const TARGET_GROUPS = 512;
const MIN_K_PER_SPLIT = 256;

/** Rows × cols block stored with leading dimension ld from offset must fit in the buffer. */
function checkExtent(
  what: string,
  buf: DeviceBuffer,
  offset: number,
  rows: number,
  cols: number,
  ld: number,
): void {
  if (rows === 0 || cols === 0) return;
  if (ld < cols) throw new RangeError(`gemm: ${what} has leading dimension ${ld} < ${cols} columns`);
  const end = offset + (rows - 1) * ld + cols;
  if (offset < 0 || end > buf.length) {
    throw new RangeError(
      `gemm: a ${rows}×${cols} block of ${what} (ld ${ld}) at ${offset} overruns a buffer of ${buf.length}`,
    );
  }
}

/** A GEMM's bias row as the kernels read it: `length` columns from `offset` (0 columns: none). */
export interface BiasPlan {
  buf: DeviceBuffer | null;
  offset: number;
  length: number;
}

/**
 * Checks that every block of a GEMM (A, B, C and the bias row) lies inside its buffer, and
 * returns the bias columns to add. `what` prefixes messages (a list's element).
 */
export function checkGemm(g: GemmArgs, what = 'gemm'): BiasPlan {
  const { m, n, k, transA } = g;
  const at = (e: unknown) => {
    if (!(e instanceof RangeError) || what === 'gemm') return e;
    return new RangeError(`${what}: ${e.message.replace(/^gemm: /, '')}`);
  };
  try {
    checkExtent('A', g.a, g.aOffset, transA ? k : m, transA ? m : k, g.lda);
    checkExtent('B', g.b, g.bOffset, g.transB ? n : k, g.transB ? k : n, g.ldb);
    checkExtent('C', g.c, g.cOffset, m, n, g.ldc);
  } catch (e) {
    throw at(e);
  }
  if (!g.bias) return { buf: null, offset: 0, length: 0 };
  const offset = g.biasOffset ?? 0;
  const length = g.biasLength ?? n;
  if (!Number.isInteger(length) || length < 0 || length > n)
    throw new RangeError(`${what}: biasLength ${length} must be a whole number in [0, ${n}]`);
  if (!Number.isInteger(offset) || offset < 0 || offset + length > g.bias.length) {
    throw new RangeError(
      `${what}: a bias row of ${length} values at ${offset} overruns a buffer of ${g.bias.length}`,
    );
  }
  return { buf: length > 0 ? g.bias : null, offset, length };
}

/** How many K-chunks to sum separately: only when few output tiles would leave the GPU idle. */
export function splitPlan(m: number, n: number, k: number): { splits: number; kChunk: number } {
  const tiles = Math.ceil(m / TILE) * Math.ceil(n / TILE);
  let splits = 1;
  if (tiles < TARGET_GROUPS && k >= 2 * MIN_K_PER_SPLIT) {
    splits = Math.max(1, Math.min(Math.floor(k / MIN_K_PER_SPLIT), Math.ceil(TARGET_GROUPS / tiles)));
  }
  const kChunk = Math.ceil(Math.ceil(k / splits) / KT) * KT;
  return { splits: Math.ceil(k / kChunk) || 1, kChunk: Math.max(kChunk, KT) };
}

/**
 * C = alpha · op(A) · op(B) + beta · C (core's GemmArgs) written in place into C's block, then
 * the bias row (GemmArgs.bias, its first biasLength columns) added to every row: one dispatch,
 * or, when K is long and the output small (weight gradients summed over T·B rows), one dispatch
 * of K-chunk partial products into scratch and one that sums them into C. One pipeline for
 * either: without a bias a one-value scratch buffer is bound in its place and 0 columns added.
 */
export function webgpuGemm(g: GemmArgs): void {
  const { m, n, k, transA, transB } = g;
  if (m === 0 || n === 0) return;
  const bias = checkGemm(g);
  const runner = wgslRunner();
  const { splits, kChunk } = splitPlan(m, n, k);
  // one pipeline serves every variant (bound either way, unused at run time when not split)
  const partial = runner.scratch('gemm-partial', splits > 1 ? splits * m * n : 1);
  const tiles = Math.ceil(m / TILE) * Math.ceil(n / TILE);
  const biasBuf = bias.buf ?? runner.scratch('gemm-nobias', 1);
  runner.run({
    key: 'gemm',
    roles: [
      { name: 'a', buf: g.a, write: false },
      { name: 'b', buf: g.b, write: false },
      { name: 'c', buf: g.c, write: true },
      { name: 'partial', buf: partial, write: true },
      { name: 'bias', buf: biasBuf, write: false },
    ],
    uniforms: [
      { name: 'm', type: 'u32', value: m },
      { name: 'n', type: 'u32', value: n },
      { name: 'k', type: 'u32', value: k },
      { name: 'lda', type: 'u32', value: g.lda },
      { name: 'ldb', type: 'u32', value: g.ldb },
      { name: 'ldc', type: 'u32', value: g.ldc },
      { name: 'aOff', type: 'u32', value: g.aOffset },
      { name: 'bOff', type: 'u32', value: g.bOffset },
      { name: 'cOff', type: 'u32', value: g.cOffset },
      { name: 'tA', type: 'u32', value: transA ? 1 : 0 },
      { name: 'tB', type: 'u32', value: transB ? 1 : 0 },
      { name: 'kChunk', type: 'u32', value: kChunk },
      { name: 'splits', type: 'u32', value: splits },
      { name: 'kt', type: 'u32', value: KT },
      { name: 'biasOff', type: 'u32', value: bias.offset },
      { name: 'biasLen', type: 'u32', value: bias.length },
      { name: 'alpha', type: 'f32', value: g.alpha },
      { name: 'beta', type: 'f32', value: g.beta },
    ],
    workgroups: tiles * splits,
    code: (v) => tiledCode(v),
  });
  if (splits > 1) {
    runner.run({
      key: 'gemm-reduce',
      roles: [
        { name: 'partial', buf: partial, write: false },
        { name: 'c', buf: g.c, write: true },
        { name: 'bias', buf: biasBuf, write: false },
      ],
      uniforms: [
        { name: 'n', type: 'u32', value: m * n },
        { name: 'cols', type: 'u32', value: n },
        { name: 'ldc', type: 'u32', value: g.ldc },
        { name: 'cOff', type: 'u32', value: g.cOffset },
        { name: 'splits', type: 'u32', value: splits },
        { name: 'biasOff', type: 'u32', value: bias.offset },
        { name: 'biasLen', type: 'u32', value: bias.length },
        { name: 'alpha', type: 'f32', value: g.alpha },
        { name: 'beta', type: 'f32', value: g.beta },
      ],
      workgroups: flatGroups(m * n),
      code: (v) =>
        flatEntry(`
  var s = 0.0;
  for (var i = 0u; i < u.splits; i++) { s += ${v.partial}[i * u.n + idx]; }
  let col = idx % u.cols;
  let at = u.cOff + (idx / u.cols) * u.ldc + col;
  var val = u.alpha * s;
  if (u.beta != 0.0) { val += u.beta * ${v.c}[at]; }
  if (col < u.biasLen) { val += ${v.bias}[u.biasOff + col]; }
  ${v.c}[at] = val;`),
    });
  }
}

/** Workgroup memory of the tiled kernels: K rows of the A and B tiles, as vec4s. */
export const TILE_SHARED = `
var<workgroup> As: array<vec4<f32>, ${KT * ROW}>;
var<workgroup> Bs: array<vec4<f32>, ${KT * ROW}>;`;

/**
 * The body of a tiled kernel: the 64×64 output tile at (row0, col0) summed over K in
 * [kBeg, kEnd) into locals c{r}_{c}, and the tile's rows i{r} and columns j{c}. Expects locals
 * m, n, ta, tb, aOff, bOff, sai, sak, sbk, sbj (A(i, k) = a[aOff + i·sai + k·sak],
 * B(k, j) = b[bOff + k·sbk + j·sbj]), row0, col0, kBeg, kEnd, li, tx, ty, and u.kt; `loadA` and
 * `loadB` turn an element index into the expression that reads it.
 *
 * Tiles of A and B go through workgroup memory as vec4 rows (a thread reads its 4 rows of A and
 * 4 columns of B with one 16-byte load each); global loads are ordered so that neighbouring
 * threads read neighbouring addresses for either layout. The K-step loop bound is a uniform
 * (u.kt = 16) so that LLVM-based drivers do not unroll it.
 */
export function tileProduct(loadA: (i: string) => string, loadB: (i: string) => string): string {
  return `
${each(4, (r) => each(4, (c) => `  var c${r}_${c} = 0.0;`))}
  for (var k0 = kBeg; k0 < kEnd; k0 += ${KT}u) {
    for (var e = 0u; e < 4u; e++) {
      let l = li + e * 256u;
      // the contiguous index varies fastest across neighbouring threads
      let ka = select(l / 64u, l % 16u, !ta);
      let ia = select(l % 64u, l / 16u, !ta);
      var va = 0.0;
      if (k0 + ka < kEnd && row0 + ia < m) { va = ${loadA('aOff + (row0 + ia) * sai + (k0 + ka) * sak')}; }
      As[ka * ${ROW}u + ia / 4u][ia % 4u] = va;
      let kb = select(l / 64u, l % 16u, tb);
      let jb = select(l % 64u, l / 16u, tb);
      var vb = 0.0;
      if (k0 + kb < kEnd && col0 + jb < n) { vb = ${loadB('bOff + (k0 + kb) * sbk + (col0 + jb) * sbj')}; }
      Bs[kb * ${ROW}u + jb / 4u][jb % 4u] = vb;
    }
    workgroupBarrier();
    for (var kk = 0u; kk < u.kt; kk++) {
      let av = As[kk * ${ROW}u + ty];
      let bv = Bs[kk * ${ROW}u + tx];
${each(4, (r) => each(4, (c) => `      c${r}_${c} += av[${r}] * bv[${c}];`))}
    }
    workgroupBarrier();
  }
${each(4, (r) => `  let i${r} = row0 + ty * 4u + ${r}u;`)}
${each(4, (c) => `  let j${c} = col0 + tx * 4u + ${c}u;`)}`;
}

/** The strides of A and B from the transposes and leading dimensions (locals for tileProduct). */
export const TILE_STRIDES = `
  let sai = select(lda, 1u, ta);
  let sak = select(1u, lda, ta);
  let sbk = select(ldb, 1u, tb);
  let sbj = select(1u, ldb, tb);`;

/**
 * A 64×64 tile per workgroup over the K range of its split (tileProduct). Transposes, the
 * split, beta and the bias columns are uniforms, not variants: one pipeline, since a software
 * Vulkan (CI) takes seconds to compile each. beta = 0 never reads C (NaN must not leak).
 */
function tiledCode(v: Readonly<Record<string, string>>): string {
  const store = (r: number, c: number) => `if (i${r} < m && j${c} < n) {
    if (u.splits > 1u) {
      ${v.partial}[(s * m + i${r}) * n + j${c}] = c${r}_${c};
    } else {
      let at = u.cOff + i${r} * u.ldc + j${c};
      var val = u.alpha * c${r}_${c} + bias${c};
      if (u.beta != 0.0) { val += u.beta * ${v.c}[at]; }
      ${v.c}[at] = val;
    }
  }`;
  return `${TILE_SHARED}
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) li: u32,
        @builtin(num_workgroups) nwg: vec3<u32>) {
  let m = u.m;
  let n = u.n;
  let tilesN = (n + ${TILE - 1}u) / ${TILE}u;
  let tiles = ((m + ${TILE - 1}u) / ${TILE}u) * tilesN;
  let flat = wid.y * nwg.x + wid.x;
  if (flat >= tiles * u.splits) { return; }
  let s = flat / tiles;
  let tile = flat % tiles;
  let row0 = (tile / tilesN) * ${TILE}u;
  let col0 = (tile % tilesN) * ${TILE}u;
  let kBeg = s * u.kChunk;
  let kEnd = min(u.k, kBeg + u.kChunk);
  let tx = li % 16u;
  let ty = li / 16u;
  let ta = u.tA == 1u;
  let tb = u.tB == 1u;
  let lda = u.lda;
  let ldb = u.ldb;
  let aOff = u.aOff;
  let bOff = u.bOff;${TILE_STRIDES}
${tileProduct(
  (i) => `${v.a}[${i}]`,
  (i) => `${v.b}[${i}]`,
)}
${each(4, (c) => `  var bias${c} = 0.0;\n  if (j${c} < u.biasLen) { bias${c} = ${v.bias}[u.biasOff + j${c}]; }`)}
${each(4, (r) => each(4, (c) => `  ${store(r, c)}`))}
}`;
}

/** dst[dOff .. dOff+n) = src[sOff .. sOff+n) as one dispatch (stays inside the compute pass). */
export function webgpuCopy(
  src: DeviceBuffer,
  srcOffset: number,
  dst: DeviceBuffer,
  dstOffset: number,
  n: number,
): void {
  if (n === 0) return;
  if (srcOffset < 0 || srcOffset + n > src.length || dstOffset < 0 || dstOffset + n > dst.length) {
    throw new RangeError(`copy of ${n} values from ${srcOffset} to ${dstOffset} overruns a buffer`);
  }
  wgslRunner().run({
    key: 'copy',
    roles: [
      { name: 'src', buf: src, write: false },
      { name: 'dst', buf: dst, write: true },
    ],
    uniforms: [
      { name: 'n', type: 'u32', value: n },
      { name: 'sOff', type: 'u32', value: srcOffset },
      { name: 'dOff', type: 'u32', value: dstOffset },
    ],
    workgroups: flatGroups(n),
    code: (v) => flatEntry(`  ${v.dst}[u.dOff + idx] = ${v.src}[u.sOff + idx];`),
  });
}

/** buf[offset .. offset+n) = value as one dispatch. */
export function webgpuFill(buf: DeviceBuffer, value: number, offset: number, n: number): void {
  if (n === 0) return;
  if (offset < 0 || offset + n > buf.length)
    throw new RangeError(`fill of ${n} values at ${offset} overruns a buffer of ${buf.length}`);
  wgslRunner().run({
    key: 'fill',
    roles: [{ name: 'dst', buf, write: true }],
    uniforms: [
      { name: 'n', type: 'u32', value: n },
      { name: 'off', type: 'u32', value: offset },
      { name: 'value', type: 'f32', value },
    ],
    workgroups: flatGroups(n),
    code: (v) => flatEntry(`  ${v.dst}[u.off + idx] = u.value;`),
  });
}
