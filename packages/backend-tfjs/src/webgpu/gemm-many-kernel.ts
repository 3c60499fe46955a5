import type { DeviceBuffer, GemmArgs } from '@bistable/core';
import { memoryOf } from './buffer-view.js';
import {
  type BiasPlan,
  checkGemm,
  KT,
  splitPlan,
  TILE,
  TILE_SHARED,
  TILE_STRIDES,
  tileProduct,
} from './gemm-kernel.js';
import { type Role, type UniformField, type WgslRunner, wgslRunner } from './runner.js';
import { each, flatEntry, flatGroups } from './wgsl-common.js';

/** The most GEMMs one grouped dispatch serves (its uniforms and generated branches grow with it). */
export const MAX_PROBLEMS = 16;

/** One GEMM of the list as the grouped kernels run it. */
interface Problem {
  g: GemmArgs;
  bias: BiasPlan;
  splits: number;
  kChunk: number;
  tilesN: number;
  tiles: number;
  /** Where its K-chunk partial sums start in the shared scratch (split problems). */
  partOff: number;
  /** Element offsets in the bound (parent) buffers: the view's own plus the GEMM's. */
  aOff: number;
  bOff: number;
  cOff: number;
  biasOff: number;
}

/** Problems packed into one dispatch, and the bindings they need. */
interface Pack {
  problems: Problem[];
  bindings: Set<unknown>;
  partial: boolean;
}

/**
 * First-fit: each problem goes into the first pack where its buffers (and the partial scratch,
 * when it is split) still fit the device's storage bindings per stage.
 */
function packProblems(
  problems: readonly Problem[],
  operands: (p: Problem) => DeviceBuffer[],
  needsPartial: (p: Problem) => boolean,
  identity: (b: DeviceBuffer) => unknown,
  limit: number,
): Pack[] {
  const packs: Pack[] = [];
  for (const p of problems) {
    const ids = operands(p).map(identity);
    const partial = needsPartial(p);
    const fits = (k: Pack) => {
      if (k.problems.length >= MAX_PROBLEMS) return false;
      const fresh = new Set(ids.filter((id) => !k.bindings.has(id))).size;
      return k.bindings.size + fresh + (k.partial || partial ? 1 : 0) <= limit;
    };
    let pack = packs.find(fits);
    if (!pack) {
      pack = { problems: [], bindings: new Set(), partial: false };
      packs.push(pack);
    }
    pack.problems.push(p);
    for (const id of ids) pack.bindings.add(id);
    pack.partial ||= partial;
  }
  return packs;
}

/**
 * Independent GEMMs (core's Backend.gemmMany: no C overlaps another C or any A or B of the list),
 * each C = alpha · op(A) · op(B) + beta · C plus its bias row, in as few dispatches as the
 * device's storage bindings allow: grouped tiled dispatches, in which each workgroup finds its
 * GEMM from cumulative workgroup counts, and one grouped reduce at the end that sums the K-chunk
 * partial products of every split GEMM of the call into its C. Operands are bound whole, so that
 * views of one buffer (a model's gradients) take one binding. A GEMM with long K and a small
 * output is split as webgpuGemm splits it; a list of one costs what webgpuGemm costs.
 *
 * The generated code branches on the GEMM to pick the binding of its A, B and C, so a pipeline
 * serves one pattern of buffers; a training step passes the same pattern every time.
 */
export function webgpuGemmMany(list: readonly GemmArgs[]): void {
  const runner = wgslRunner();
  const problems: Problem[] = [];
  let partialSize = 0;
  list.forEach((g, i) => {
    if (g.m === 0 || g.n === 0) return;
    const bias = checkGemm(g, `gemmMany[${i}]`);
    const { splits, kChunk } = splitPlan(g.m, g.n, g.k);
    const tilesN = Math.ceil(g.n / TILE);
    problems.push({
      g,
      bias,
      splits,
      kChunk,
      tilesN,
      tiles: Math.ceil(g.m / TILE) * tilesN,
      partOff: splits > 1 ? partialSize : 0,
      aOff: runner.elementOffset(g.a) + g.aOffset,
      bOff: runner.elementOffset(g.b) + g.bOffset,
      cOff: runner.elementOffset(g.c) + g.cOffset,
      biasOff: bias.buf ? runner.elementOffset(bias.buf) + bias.offset : 0,
    });
    if (splits > 1) partialSize += splits * g.m * g.n;
  });
  if (problems.length === 0) return;
  const partial = partialSize > 0 ? runner.scratch('gemm-partial', partialSize) : null;
  const limit = runner.device.limits.maxStorageBuffersPerShaderStage;
  const withBias = (p: Problem, bufs: DeviceBuffer[]) => (p.bias.buf ? [...bufs, p.bias.buf] : bufs);
  const split = (p: Problem) => p.splits > 1;
  for (const pack of packProblems(
    problems,
    (p) => withBias(p, [p.g.a, p.g.b, p.g.c]),
    split,
    memoryOf,
    limit,
  )) {
    runTiles(runner, pack.problems, pack.partial ? partial : null);
  }
  const splitOnes = problems.filter(split);
  if (splitOnes.length === 0) return;
  for (const pack of packProblems(splitOnes, (p) => withBias(p, [p.g.c]), split, memoryOf, limit)) {
    runReduce(runner, pack.problems, partial!);
  }
}

/** Roles of a pack: each GEMM's operands as a{p}, b{p}, c{p} and bias{p}, all bound whole. */
function problemRoles(problems: readonly Problem[], operands: 'abc' | 'c'): Role[] {
  const roles: Role[] = [];
  problems.forEach((p, i) => {
    if (operands === 'abc') {
      roles.push({ name: `a${i}`, buf: p.g.a, write: false, whole: true });
      roles.push({ name: `b${i}`, buf: p.g.b, write: false, whole: true });
    }
    roles.push({ name: `c${i}`, buf: p.g.c, write: true, whole: true });
    if (p.bias.buf) roles.push({ name: `bias${i}`, buf: p.bias.buf, write: false, whole: true });
  });
  return roles;
}

/**
 * WGSL functions that read or write element `i` of GEMM `p`'s operand `role` (`ld_a`, `st_c`...),
 * one switch case per binding (none where one binding serves all); GEMMs without that operand
 * (a bias) read 0.
 */
function accessors(v: Readonly<Record<string, string>>, count: number, role: string, store: boolean): string {
  const byBinding = new Map<string, number[]>();
  for (let p = 0; p < count; p++) {
    const name = v[`${role}${p}`];
    if (!name) continue;
    byBinding.set(name, [...(byBinding.get(name) ?? []), p]);
  }
  const only = byBinding.size === 1 && [...byBinding.values()][0].length === count;
  if (only) {
    // one binding serves every GEMM of the dispatch: no branch
    const name = [...byBinding.keys()][0];
    return store
      ? `fn st_${role}(p: u32, i: u32, x: f32) { ${name}[i] = x; }`
      : `fn ld_${role}(p: u32, i: u32) -> f32 { return ${name}[i]; }`;
  }
  const cases = [...byBinding].map(([name, ps]) => {
    const sel = ps.map((p) => `${p}u`).join(', ');
    return store ? `    case ${sel}: { ${name}[i] = x; }` : `    case ${sel}: { r = ${name}[i]; }`;
  });
  if (store) {
    return `fn st_${role}(p: u32, i: u32, x: f32) {
  switch p {
${cases.join('\n')}
    default: {}
  }
}`;
  }
  return `fn ld_${role}(p: u32, i: u32) -> f32 {
  var r = 0.0;
  switch p {
${cases.join('\n')}
    default: {}
  }
  return r;
}`;
}

/** Locals of a GEMM's fields, set from its uniforms `${field}_${p}` by a switch on `p`. */
function pickFields(fields: readonly UniformField[], count: number): string {
  const perProblem = fields
    .filter((f) => f.name.endsWith('_0'))
    .map((f) => ({ type: f.type, base: f.name.slice(0, -2) }));
  const decls = perProblem.map((f) => `  var ${f.base}: ${f.type};`).join('\n');
  const cases = Array.from(
    { length: count },
    (_, p) => `    case ${p}u: { ${perProblem.map((f) => `${f.base} = u.${f.base}_${p};`).join(' ')} }`,
  ).join('\n');
  return `${decls}
  switch p {
${cases}
    default: {}
  }`;
}

/** The problem `p` that flat index `x` falls in, by the starts `u.${start}_{p}` (ascending). */
function findProblem(x: string, start: string, count: number): string {
  const steps = Array.from(
    { length: count - 1 },
    (_, i) => `  if (${x} >= u.${start}_${i + 1}) { p = ${i + 1}u; }`,
  );
  return `  var p = 0u;\n${steps.join('\n')}`;
}

type Field = [name: string, value: number, type?: 'u32' | 'f32'];

/**
 * Each problem's uniform fields as `name_i`, led by `start_i`, its first flat index when each
 * problem takes `size(p)` of them; and the total.
 */
function problemUniforms(
  problems: readonly Problem[],
  size: (p: Problem) => number,
  fields: (p: Problem) => Field[],
): { uniforms: UniformField[]; total: number } {
  const uniforms: UniformField[] = [];
  let start = 0;
  problems.forEach((p, i) => {
    for (const [name, value, type = 'u32'] of [['start', start] as Field, ...fields(p)])
      uniforms.push({ name: `${name}_${i}`, type, value });
    start += size(p);
  });
  return { uniforms, total: start };
}

/** What both passes need to store into C: its place, the split-K partials, the bias, alpha, beta. */
function storeFields(p: Problem): Field[] {
  return [
    ['ldc', p.g.ldc],
    ['cOff', p.cOff],
    ['splits', p.splits],
    ['partOff', p.partOff],
    ['biasOff', p.biasOff],
    ['biasLen', p.bias.length],
    ['alpha', p.g.alpha, 'f32'],
    ['beta', p.g.beta, 'f32'],
  ];
}

/** One grouped tiled dispatch: every tile (and K-chunk) of every GEMM of the pack. */
function runTiles(runner: WgslRunner, problems: readonly Problem[], partial: GPUBuffer | null): void {
  const { uniforms, total: start } = problemUniforms(
    problems,
    (p) => p.tiles * p.splits,
    (p) => [
      ['m', p.g.m],
      ['n', p.g.n],
      ['k', p.g.k],
      ['lda', p.g.lda],
      ['ldb', p.g.ldb],
      ['aOff', p.aOff],
      ['bOff', p.bOff],
      ['tA', p.g.transA ? 1 : 0],
      ['tB', p.g.transB ? 1 : 0],
      ['kChunk', p.kChunk],
      ['tilesN', p.tilesN],
      ['tiles', p.tiles],
      ...storeFields(p),
    ],
  );
  uniforms.push({ name: 'total', type: 'u32', value: start }, { name: 'kt', type: 'u32', value: KT });
  const roles = problemRoles(problems, 'abc');
  if (partial) roles.push({ name: 'partial', buf: partial, write: true });
  const count = problems.length;
  runner.run({
    key: `gemm-many-${count}`,
    roles,
    uniforms,
    workgroups: start,
    code: (v) => groupedTiledCode(v, uniforms, count),
  });
}

function groupedTiledCode(
  v: Readonly<Record<string, string>>,
  uniforms: readonly UniformField[],
  count: number,
): string {
  const hasBias = anyBias(v, count);
  const direct = (r: number, c: number) => `let at = cOff + i${r} * ldc + j${c};
      var val = alpha * c${r}_${c}${hasBias ? ` + bias${c}` : ''};
      if (beta != 0.0) { val += beta * ld_c(p, at); }
      st_c(p, at, val);`;
  const store = (r: number, c: number) => `if (i${r} < m && j${c} < n) {
    ${
      v.partial
        ? `if (splits > 1u) {
      ${v.partial}[partOff + (s * m + i${r}) * n + j${c}] = c${r}_${c};
    } else {
      ${direct(r, c)}
    }`
        : direct(r, c)
    }
  }`;
  return `${TILE_SHARED}
${accessors(v, count, 'a', false)}
${accessors(v, count, 'b', false)}
${accessors(v, count, 'c', false)}
${accessors(v, count, 'c', true)}
${hasBias ? accessors(v, count, 'bias', false) : ''}
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) li: u32,
        @builtin(num_workgroups) nwg: vec3<u32>) {
  let flat = wid.y * nwg.x + wid.x;
  if (flat >= u.total) { return; }
${findProblem('flat', 'start', count)}
${pickFields(uniforms, count)}
  let rel = flat - start;
  let s = rel / tiles;
  let tile = rel % tiles;
  let row0 = (tile / tilesN) * ${TILE}u;
  let col0 = (tile % tilesN) * ${TILE}u;
  let kBeg = s * kChunk;
  let kEnd = min(k, kBeg + kChunk);
  let tx = li % 16u;
  let ty = li / 16u;
  let ta = tA == 1u;
  let tb = tB == 1u;${TILE_STRIDES}
${tileProduct(
  (i) => `ld_a(p, ${i})`,
  (i) => `ld_b(p, ${i})`,
)}
${hasBias ? each(4, (c) => `  var bias${c} = 0.0;\n  if (j${c} < biasLen) { bias${c} = ld_bias(p, biasOff + j${c}); }`) : ''}
${each(4, (r) => each(4, (c) => `  ${store(r, c)}`))}
}`;
}

/** One grouped reduce: the K-chunk sums of each split GEMM of the pack into its C, with its bias. */
function runReduce(runner: WgslRunner, problems: readonly Problem[], partial: GPUBuffer): void {
  const { uniforms, total: start } = problemUniforms(
    problems,
    (p) => p.g.m * p.g.n,
    (p) => [['mn', p.g.m * p.g.n], ['cols', p.g.n], ...storeFields(p)],
  );
  uniforms.push({ name: 'n', type: 'u32', value: start });
  const roles: Role[] = [{ name: 'partial', buf: partial, write: false }, ...problemRoles(problems, 'c')];
  const count = problems.length;
  runner.run({
    key: `gemm-many-reduce-${count}`,
    roles,
    uniforms,
    workgroups: flatGroups(start),
    code: (v) => {
      const hasBias = anyBias(v, count);
      return `${accessors(v, count, 'c', false)}
${accessors(v, count, 'c', true)}
${hasBias ? accessors(v, count, 'bias', false) : ''}
${flatEntry(`${findProblem('idx', 'start', count)}
${pickFields(uniforms, count)}
  let rel = idx - start;
  var sum = 0.0;
  for (var t = 0u; t < splits; t++) { sum += ${v.partial}[partOff + t * mn + rel]; }
  let col = rel % cols;
  let at = cOff + (rel / cols) * ldc + col;
  var val = alpha * sum;
  if (beta != 0.0) { val += beta * ld_c(p, at); }
${hasBias ? '  if (col < biasLen) { val += ld_bias(p, biasOff + col); }' : ''}
  st_c(p, at, val);`)}`;
    },
  });
}

/** Whether any of the pack's `count` problems binds a bias. */
function anyBias(v: Readonly<Record<string, string>>, count: number): boolean {
  return Array.from({ length: count }, (_, p) => v[`bias${p}`]).some(Boolean);
}
