import type { CellSpec, Operand } from '@bistable/core';
import { backwardRegions, forwardRegions, type Region } from './cell-layout.js';
import type { KernelSource } from './index.js';
import { type CellArray, type Dir, KernelBody, paramName, scaled } from './kernel-body.js';

export type { CellArray } from './kernel-body.js';

/** Numbers a step kernel takes after its arrays (then B and H): 1 or 0. */
export type CellFlag = 'hasDOut' | 'hasNext';

/** A kernel parameter: an array (or several sharing one), each member with its offset; or a flag. */
export type CellParam = { readonly arrays: readonly CellArray[] } | { readonly flag: CellFlag };

/** One rendered step kernel: its source, what it reads, and where its output goes. */
export interface CellKernel {
  /** null when no region needs threads (every output a copy, a fill or nothing). */
  readonly source: KernelSource | null;
  /**
   * The kernel's parameters in order, then B and H. An array parameter is followed by its
   * members' offsets: one array per member, or (where the kernel would take more arrays than the
   * mode allows) one parameter for several, passed as their ranges back to back.
   */
  readonly params: readonly CellParam[];
  /** The array parameters, in order. */
  readonly arrays: readonly (readonly CellArray[])[];
  readonly flags: readonly CellFlag[];
  readonly regions: readonly Region[];
}

export interface CellKernels {
  forward: CellKernel;
  /** R = hPrev @ wh (+ bh) computed in the kernel; null for cells with no recurrent product. */
  forwardFused: CellKernel | null;
  /** With `hasNext`, the gradient reaching h also takes the previous step's dR @ whᵀ. */
  backward: CellKernel;
}

const cache = new WeakMap<CellSpec, Map<number, CellKernels>>();

/**
 * The step kernels of any cell, rendered from its program (CellSpec.program) once per spec and
 * array limit. gpu.js gives each thread one output value, so every thread decodes which value it
 * owns (row b, output block, unit j), computes what that value depends on and returns it.
 */
export function cellKernels(spec: CellSpec, maxArrays = Number.POSITIVE_INFINITY): CellKernels {
  let bySpec = cache.get(spec);
  if (!bySpec) {
    bySpec = new Map();
    cache.set(spec, bySpec);
  }
  let k = bySpec.get(maxArrays);
  if (!k) {
    const recurrent = spec.gr > 0 && spec.program.forward.inputs.some((n) => /^R\d+$/.test(n));
    k = {
      forward: render(spec, 'forward', false, maxArrays),
      forwardFused: recurrent ? render(spec, 'forward', true, maxArrays) : null,
      backward: render(spec, 'backward', false, maxArrays),
    };
    bySpec.set(maxArrays, k);
  }
  return k;
}

/** Arrays from small to large: the first ones share a parameter when a kernel would take too many. */
const BY_SIZE: readonly CellArray[] = [
  'bh',
  'pw',
  'dPw',
  'hPrev',
  'cPrev',
  'dcCarry',
  'dOut',
  'dhCarry',
  'dRNext',
  'p',
  'r',
  'cache',
  'wh',
];

/** One parameter per array, or the smallest sharing one so that there are at most `max`. */
function groupArrays(arrays: readonly CellArray[], max: number): CellArray[][] {
  if (arrays.length <= max) return arrays.map((a) => [a]);
  const shared = [...arrays]
    .sort((a, b) => BY_SIZE.indexOf(a) - BY_SIZE.indexOf(b))
    .slice(0, arrays.length - max + 1);
  return [shared, ...arrays.filter((a) => !shared.includes(a)).map((a) => [a])];
}

function render(spec: CellSpec, dir: Dir, fused: boolean, maxArrays: number): CellKernel {
  const prog = spec.program[dir];
  const regions = dir === 'forward' ? forwardRegions(spec) : backwardRegions(spec);
  const kernelRegions = regions.filter((r) => r.source.kind === 'kernel');
  if (kernelRegions.length === 0) return { source: null, params: [], arrays: [], flags: [], regions };
  const g = new KernelBody(spec, prog, dir, fused);
  const arrays = groupArrays(g.arrays(kernelRegions.some((r) => r.key === 'dPw')), maxArrays);
  g.bind(arrays);

  const lines = [...decodeThread(kernelRegions)];
  let base = 0;
  const perThread: { value: Operand; which: number }[] = [];
  for (const r of kernelRegions) {
    if (r.perRow) perThread.push(...r.values.map((value, k) => ({ value, which: base + k })));
    else lines.push(...g.rowSums(r, base));
    base += r.outputs.length;
  }
  lines.push(...g.selectOutput(perThread));

  const flags: CellFlag[] = [];
  if (g.reads('g')) flags.push('hasDOut');
  if (g.reads('g') && spec.gr > 0) flags.push('hasNext');
  // a flag follows the array it gates, as in the hand-written kernels: under llvmpipe a backward
  // ran 4% slower (BRC's 21%) with its flags beside B and H, four scalar parameters in a row
  const gates: Record<CellFlag, CellArray> = { hasDOut: 'dOut', hasNext: 'wh' };
  const params: CellParam[] = arrays.flatMap((group) => [
    { arrays: group },
    ...flags.filter((f) => group.includes(gates[f])).map((flag) => ({ flag })),
  ]);
  const names = [
    ...params.flatMap((p) =>
      'flag' in p ? [p.flag] : [paramName(p.arrays), ...p.arrays.map((m) => `${m}Off`)],
    ),
    'B',
    'H',
  ];
  const body = lines.map((l) => `  ${l}`).join('\n');
  const tag = `${dir === 'forward' ? 'fwd' : 'bwd'}${fused ? '_fused' : ''}`;
  const name = `${spec.name.replace(/\W/g, '_')}_${tag}_${hash(`${names}\n${body}`)}`;
  return {
    source: { name, fn: `function ${name}(${names.join(', ')}) {\n${body}\n}`, fused: true },
    params,
    arrays,
    flags,
    regions,
  };
}

/**
 * The thread's row b, unit j and `which` (its output block, counted across the kernel regions):
 * one decoding for every region, each rows × blocks·H (only the last, dPw, has one row).
 */
function decodeThread(regions: readonly Region[]): string[] {
  const lines = ['const idx = this.thread.x;', 'let q = 0;', 'let w = 0;', 'let base = 0;'];
  let before = 0;
  regions.forEach((r, i) => {
    const n = r.outputs.length;
    const set = i === 0 ? ['q = idx;'] : [`q = idx - B * ${before} * H;`, `base = ${before};`];
    set.push(`w = ${scaled(n)};`);
    before += n;
    if (regions.length === 1) lines.push(...set);
    else {
      const last = i === regions.length - 1;
      lines.push(last ? '} else {' : `${i === 0 ? 'if' : '} else if'} (idx < B * ${before} * H) {`);
      lines.push(...set.map((x) => `  ${x}`));
      if (last) lines.push('}');
    }
  });
  lines.push(
    'const b = Math.floor((q + 0.5) / w);',
    'const rem = q - b * w;',
    'const gate = Math.floor((rem + 0.5) / H);',
    'const j = rem - gate * H;',
    'const which = base + gate;',
  );
  return lines;
}

/** FNV-1a of a kernel's text: two cells that render differently never share a compiled kernel. */
function hash(text: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return (h >>> 0).toString(16).padStart(8, '0');
}
