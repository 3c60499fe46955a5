import type { DeviceBuffer, GemmArgs } from '@bistable/core';
import { wgslRunner } from './runner.js';
import { each, flatEntry, flatGroups } from './wgsl-common.js';

/** Output tile of a workgroup (TILE × TILE), its K step, and threads (16 × 16, 4 × 4 outputs each). */
const TILE = 64;
const KT = 16;
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
 * C = alpha · op(A) · op(B) + beta · C (core's GemmArgs) written in place into C's block: one
 * dispatch, or, when K is long and the output small (weight gradients summed over T·B rows),
 * one dispatch of K-chunk partial products into scratch and one that sums them into C.
 */
export function webgpuGemm(g: GemmArgs): void {
  const { m, n, k, transA, transB } = g;
  if (m === 0 || n === 0) return;
  checkExtent('A', g.a, g.aOffset, transA ? k : m, transA ? m : k, g.lda);
  checkExtent('B', g.b, g.bOffset, transB ? n : k, transB ? k : n, g.ldb);
  checkExtent('C', g.c, g.cOffset, m, n, g.ldc);
  const runner = wgslRunner();
  const { splits, kChunk } = splitPlan(m, n, k);
  // one pipeline serves every variant (bound either way, unused at run time when not split)
  const partial = runner.scratch('gemm-partial', splits > 1 ? splits * m * n : 1);
  const tiles = Math.ceil(m / TILE) * Math.ceil(n / TILE);
  runner.run({
    key: 'gemm',
    roles: [
      { name: 'a', buf: g.a, write: false },
      { name: 'b', buf: g.b, write: false },
      { name: 'c', buf: g.c, write: true },
      { name: 'partial', buf: partial, write: true },
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
      ],
      uniforms: [
        { name: 'n', type: 'u32', value: m * n },
        { name: 'cols', type: 'u32', value: n },
        { name: 'ldc', type: 'u32', value: g.ldc },
        { name: 'cOff', type: 'u32', value: g.cOffset },
        { name: 'splits', type: 'u32', value: splits },
        { name: 'alpha', type: 'f32', value: g.alpha },
        { name: 'beta', type: 'f32', value: g.beta },
      ],
      workgroups: flatGroups(m * n),
      code: (v) =>
        flatEntry(`
  var s = 0.0;
  for (var i = 0u; i < u.splits; i++) { s += ${v.partial}[i * u.n + idx]; }
  let at = u.cOff + (idx / u.cols) * u.ldc + idx % u.cols;
  if (u.beta == 0.0) { ${v.c}[at] = u.alpha * s; } else { ${v.c}[at] = u.alpha * s + u.beta * ${v.c}[at]; }`),
    });
  }
}

/**
 * A 64×64 tile per workgroup over the K range of its split. Tiles of A and B go through workgroup
 * memory as vec4 rows (a thread reads its 4 rows of A and 4 columns of B with one 16-byte load
 * each); global loads are ordered so that neighbouring threads read neighbouring addresses for
 * either layout. Transposes, the split and beta are uniforms, not variants: one pipeline, since a
 * software Vulkan (CI) takes seconds to compile each. beta = 0 never reads C (NaN must not leak).
 * The K-step loop bound is a uniform too (u.kt = 16) so that LLVM-based drivers do not unroll it.
 */
function tiledCode(v: Readonly<Record<string, string>>): string {
  const store = (r: number, c: number) => `if (i${r} < u.m && j${c} < u.n) {
    if (u.splits > 1u) {
      ${v.partial}[(s * u.m + i${r}) * u.n + j${c}] = c${r}_${c};
    } else {
      let at = u.cOff + i${r} * u.ldc + j${c};
      if (u.beta == 0.0) { ${v.c}[at] = u.alpha * c${r}_${c}; } else { ${v.c}[at] = u.alpha * c${r}_${c} + u.beta * ${v.c}[at]; }
    }
  }`;
  return `
var<workgroup> As: array<vec4<f32>, ${KT * ROW}>;
var<workgroup> Bs: array<vec4<f32>, ${KT * ROW}>;
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) li: u32,
        @builtin(num_workgroups) nwg: vec3<u32>) {
  let tilesN = (u.n + ${TILE - 1}u) / ${TILE}u;
  let tiles = ((u.m + ${TILE - 1}u) / ${TILE}u) * tilesN;
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
  // A(i, k) = a[aOff + i·sai + k·sak]; B(k, j) = b[bOff + k·sbk + j·sbj]
  let sai = select(u.lda, 1u, ta);
  let sak = select(1u, u.lda, ta);
  let sbk = select(u.ldb, 1u, tb);
  let sbj = select(1u, u.ldb, tb);
${each(4, (r) => each(4, (c) => `  var c${r}_${c} = 0.0;`))}
  for (var k0 = kBeg; k0 < kEnd; k0 += ${KT}u) {
    for (var e = 0u; e < 4u; e++) {
      let l = li + e * 256u;
      // the contiguous index varies fastest across neighbouring threads
      let ka = select(l / 64u, l % 16u, !ta);
      let ia = select(l % 64u, l / 16u, !ta);
      var va = 0.0;
      if (k0 + ka < kEnd && row0 + ia < u.m) { va = ${v.a}[u.aOff + (row0 + ia) * sai + (k0 + ka) * sak]; }
      As[ka * ${ROW}u + ia / 4u][ia % 4u] = va;
      let kb = select(l / 64u, l % 16u, tb);
      let jb = select(l % 64u, l / 16u, tb);
      var vb = 0.0;
      if (k0 + kb < kEnd && col0 + jb < u.n) { vb = ${v.b}[u.bOff + (k0 + kb) * sbk + (col0 + jb) * sbj]; }
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
${each(4, (c) => `  let j${c} = col0 + tx * 4u + ${c}u;`)}
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
