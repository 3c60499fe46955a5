import type {
  CellSpec,
  DeviceBuffer,
  RecurrentCarry,
  RecurrentWeights,
  StepBackwardArgs,
  StepForwardArgs,
} from '@bistable/core';
import { kernelOffsets, type RegionKey, regionLength } from '../kernels/cell-layout.js';
import { type CellArray, type CellFlag, type CellKernel, cellKernels } from '../kernels/render-cell.js';
import type { GpujsBuffer, Scope, View } from '../store/store.js';

const gb = (b: DeviceBuffer | null) => b as GpujsBuffer;

/** A range of one of the step's buffers: [buffer, start, length]. */
type Range = [DeviceBuffer | null, number, number];
/** Each array a kernel may read; one range given for several is viewed once. */
type Sources = Partial<Record<CellArray, Range>>;
/** Each region's destination: [buffer, start]. */
type Targets = Partial<Record<RegionKey, [DeviceBuffer | null, number]>>;

/**
 * Runs one rendered step kernel: views of exactly the arrays it reads, one launch, and each
 * region of its output committed where core asked for it (copies and fills need no threads).
 */
async function runStep(
  s: Scope,
  k: CellKernel,
  B: number,
  H: number,
  sources: Sources,
  flags: Record<CellFlag, number>,
  targets: Targets,
): Promise<void> {
  const { at, outLen } = kernelOffsets(k.regions, B, H);
  let out: unknown = null;
  if (k.source) {
    const args: unknown[] = [];
    const views = new Map<Range, View>();
    const range = (name: CellArray): Range => {
      const r = sources[name];
      if (!r?.[0])
        throw new Error(`step kernel '${k.source?.name}' reads ${name}, which this step was not given`);
      return r;
    };
    for (const param of k.params) {
      if ('flag' in param) {
        args.push(flags[param.flag]);
        continue;
      }
      const group = param.arrays;
      if (group.length === 1) {
        const r = range(group[0]);
        let v = views.get(r);
        if (!v) {
          v = await s.view(gb(r[0]), r[1], r[2]);
          views.set(r, v);
        }
        args.push(v.val, v.off);
        continue;
      }
      // one parameter for several arrays: their ranges back to back, each at its own offset
      const rs = group.map(range);
      const v = await s.concat(rs.map(([buf, start, len]) => [gb(buf), start, len] as const));
      let off = v.off;
      args.push(v.val);
      for (const r of rs) {
        args.push(off);
        off += r[2];
      }
    }
    args.push(B, H);
    out = await s.run(k.source, outLen, args);
  }
  for (const r of k.regions) {
    const [buf, start] = targets[r.key] ?? [null, 0];
    const len = regionLength(r, B, H);
    const src = r.source;
    if (src.kind === 'kernel') s.commit(out, at.get(r.key)!, gb(buf), start, len);
    else if (src.kind === 'copy') s.commit(out, at.get(src.of)!, gb(buf), start, len);
    else if (src.kind === 'fill') s.fill(gb(buf), start, len, src.value);
  }
}

/**
 * One forward step: the cell's kernel writes [cache | h' (| c')] in one launch. With `fused`
 * (level 3), R = h @ wh + bh is computed inside the kernel and `a.r` is not read.
 */
export function stepForwardOp(
  s: Scope,
  spec: CellSpec,
  a: StepForwardArgs<DeviceBuffer>,
  fused: RecurrentWeights | null,
): Promise<void> {
  const ks = cellKernels(spec, s.maxKernelArrays);
  const { B, H } = a;
  const BH = B * H;
  const grH = spec.gr * H;
  const k = fused && ks.forwardFused ? ks.forwardFused : ks.forward;
  const sources: Sources = {
    p: [a.p, a.pOff, BH * spec.gx],
    r: [a.r, a.rOff, BH * spec.gr],
    wh: [fused?.wh ?? null, 0, H * grH],
    bh: [fused?.bh ?? null, 0, grH],
    pw: [a.pw, 0, spec.npw * H],
    hPrev: [a.hPrev, a.hPrevOff, BH],
    cPrev: [a.cPrev, a.cPrevOff, BH],
  };
  const targets: Targets = { cache: [a.cache, a.cacheOff], h: [a.hOut, a.hOutOff], c: [a.cOut, a.cOutOff] };
  return runStep(s, k, B, H, sources, { hasDOut: 0, hasNext: 0 }, targets);
}

/**
 * One backward step (core's semantics: writes dP, dR, the pointwise dhPrev and dcPrev, adds into
 * dPw) in one launch. With `carry` (level 3), the gradient reaching h_t is
 * dhCarry + carry.dR @ whᵀ (+ dOut): the GEMM core would run between two steps happens inside
 * this kernel.
 */
export function stepBackwardOp(
  s: Scope,
  spec: CellSpec,
  a: StepBackwardArgs<DeviceBuffer>,
  carry: RecurrentCarry | null,
): Promise<void> {
  const { B, H } = a;
  const BH = B * H;
  const dhCarry: Range = [a.dhCarry, a.dhCarryOff, BH];
  const sources: Sources = {
    // absent ones are told by a flag, and dhCarry is read in their place so every read stays in range
    dOut: a.dOut ? [a.dOut, a.dOutOff, BH] : dhCarry,
    dhCarry,
    dRNext: carry ? [carry.dR, carry.dROff, BH * spec.gr] : dhCarry,
    wh: carry ? [carry.wh, 0, H * spec.gr * H] : dhCarry,
    dcCarry: [a.dcCarry, a.dcCarryOff, BH],
    cache: [a.cache, a.cacheOff, BH * spec.cacheWidth],
    pw: [a.pw, 0, spec.npw * H],
    hPrev: [a.hPrev, a.hPrevOff, BH],
    cPrev: [a.cPrev, a.cPrevOff, BH],
    dPw: [a.dPw, 0, spec.npw * H],
  };
  const targets: Targets = {
    dP: [a.dP, a.dPOff],
    dR: [a.dR, a.dROff],
    dhPrev: [a.dhPrev, a.dhPrevOff],
    dcPrev: [a.dcPrev, a.dcPrevOff],
    dPw: [a.dPw, 0],
  };
  const flags = { hasDOut: a.dOut ? 1 : 0, hasNext: carry ? 1 : 0 };
  return runStep(s, cellKernels(spec, s.maxKernelArrays).backward, B, H, sources, flags, targets);
}
