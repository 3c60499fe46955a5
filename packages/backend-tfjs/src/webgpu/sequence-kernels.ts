/// <reference types="@webgpu/types" />
import {
  type CellSpec,
  type DeviceBuffer,
  InputError,
  type SequenceBackwardArgs,
  type SequenceForwardArgs,
  type SequenceKernels,
} from '@bistable/core';
import { isBufferView, memoryOf } from './buffer-view.js';
import { cellWgsl, readsOf } from './cell-wgsl.js';
import { memberCode, memberRuns, operandsOf, runUniforms, wholeRoles } from './member-kernels.js';
import { type Operand, type Role, type WgslRunner, wgslRunner } from './runner.js';
import { FUSED_WG, pointwiseBackwardCode, pointwiseForwardCode, pwReduceCode } from './sequence-pointwise.js';
import {
  auxLayout,
  backwardPrepCode,
  type Places,
  placesKey,
  planKey,
  recurrentBackwardCode,
  recurrentForwardCode,
  recurrentPlan,
  recurrentSplit,
  recurrentSubgroups,
  usesAux,
  writesAux,
} from './sequence-recurrent.js';
import { flatGroups } from './wgsl-common.js';

/**
 * The backward's aux (sequence-recurrent.ts's auxLayout) that a forward wrote wh transposed into:
 * one per wh buffer, so that the backward of that unit binds it instead of transposing wh again.
 */
interface TransposedWh {
  buf: GPUBuffer;
  /** Floats it holds. */
  floats: number;
  H: number;
  gr: number;
}

/**
 * Per runner (a new tfjs backend has a new device): the transposed copy of each wh buffer, and
 * each root buffer's copies (those of itself and of its views), released with the root.
 */
interface Transposed {
  byWh: WeakMap<DeviceBuffer, TransposedWh>;
  byRoot: WeakMap<object, Set<DeviceBuffer>>;
  /**
   * Which forward last wrote each wh's transposed copy: 'solo' (its own, in byWh) or a run's key
   * (in groups). A backward uses a copy only when its forward wrote it last.
   */
  stamp: WeakMap<DeviceBuffer, string>;
  /** The aux of each run of members (member-kernels.ts), by run key: member m's at m·stride. */
  groups: Map<string, GroupAux>;
  groupsByRoot: WeakMap<object, Set<string>>;
}

/** The aux buffers of a run of members, one after another. */
interface GroupAux {
  buf: GPUBuffer;
  floats: number;
  /** Floats per member, as the run's last forward laid them out. */
  stride: number;
  /** What the last forward that wrote it stamped its members' wh with (Transposed.stamp). */
  label: string;
}

/** Labels of forwards that wrote a run's aux: each one its own. */
let forwardsWritten = 0;
const transposed = new WeakMap<WgslRunner, Transposed>();

function transposedOf(runner: WgslRunner): Transposed {
  let m = transposed.get(runner);
  if (!m) {
    m = {
      byWh: new WeakMap(),
      byRoot: new WeakMap(),
      stamp: new WeakMap(),
      groups: new Map(),
      groupsByRoot: new WeakMap(),
    };
    transposed.set(runner, m);
  }
  return m;
}

/**
 * Releases the transposed copies of `root`'s weights (itself or views of it): the backend calls
 * it when it disposes `root`, so they do not outlive it until garbage collection.
 */
export function releaseTransposed(runner: WgslRunner, root: DeviceBuffer): void {
  const t = transposedOf(runner);
  for (const key of t.groupsByRoot.get(root) ?? []) {
    const g = t.groups.get(key);
    if (g) runner.retire(g.buf);
    t.groups.delete(key);
  }
  t.groupsByRoot.delete(root);
  const whs = t.byRoot.get(root);
  if (!whs) return;
  for (const wh of whs) {
    const have = t.byWh.get(wh);
    if (have) runner.retire(have.buf);
    t.byWh.delete(wh);
  }
  t.byRoot.delete(root);
}

/** Small ids for root buffers, for run keys. */
const rootIds = new WeakMap<object, number>();
let nextRootId = 0;
const rootId = (root: object): number => {
  let id = rootIds.get(root);
  if (id === undefined) {
    id = nextRootId++;
    rootIds.set(root, id);
  }
  return id;
};

/**
 * Which aux a run of members uses: one per unit (its wh's offset within a member's stride of the
 * parameter buffer), run length and stride, gr and H, whichever members make up the run. The
 * keys stay few when members sit out in changing combinations; the stamps (label) tell whose
 * transposed weights an aux holds.
 */
function runKey(whs: readonly DeviceBuffer[], gr: number, H: number): string {
  const offs = whs.map((w) => (isBufferView(w) ? w.offset : 0));
  const stride = offs.length > 1 ? offs[1] - offs[0] : 0;
  const unit = stride > 0 ? offs[0] % stride : offs[0];
  return `${rootId(memoryOf(whs[0]))}/${unit}/${whs.length}x${stride}/${gr}/${H}`;
}

/**
 * The aux of a run of members for a forward (`perMember` floats each, the transposed wh at the
 * start of each): the run's from earlier forwards when large enough, else a new one.
 */
function groupAuxForForward(
  runner: WgslRunner,
  whs: readonly DeviceBuffer[],
  gr: number,
  H: number,
  perMember: number,
): GroupAux {
  const t = transposedOf(runner);
  const key = runKey(whs, gr, H);
  const floats = perMember * whs.length;
  let g = t.groups.get(key);
  if (!g || g.floats < floats) {
    if (g) runner.retire(g.buf);
    const buf = runner.device.createBuffer({
      size: Math.max(4, floats * 4),
      usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST,
    });
    g = { buf, floats, stride: perMember, label: '' };
    t.groups.set(key, g);
    const root = memoryOf(whs[0]);
    let keys = t.groupsByRoot.get(root);
    if (!keys) {
      keys = new Set();
      t.groupsByRoot.set(root, keys);
    }
    keys.add(key);
  }
  g.stride = perMember;
  g.label = `${key}#${++forwardsWritten}`;
  for (const w of whs) t.stamp.set(w, g.label);
  return g;
}

/**
 * The aux of `wh` for a forward of H units and B rows: the one from earlier forwards when large
 * enough, else a new one (the old one retired: WgslRunner.retire).
 */
function auxForForward(
  runner: WgslRunner,
  wh: DeviceBuffer,
  gr: number,
  H: number,
  floats: number,
): GPUBuffer {
  const { byWh, byRoot, stamp } = transposedOf(runner);
  stamp.set(wh, 'solo');
  const have = byWh.get(wh);
  if (have && have.floats >= floats && have.H === H && have.gr === gr) return have.buf;
  // the old one may still be read by recorded work: destroyed once that work is done
  if (have) runner.retire(have.buf);
  const buf = runner.device.createBuffer({
    size: Math.max(4, floats * 4),
    usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST,
  });
  byWh.set(wh, { buf, floats, H, gr });
  const root = memoryOf(wh);
  let whs = byRoot.get(root);
  if (!whs) {
    whs = new Set();
    byRoot.set(root, whs);
  }
  whs.add(wh);
  return buf;
}

/**
 * Level 3: one dispatch runs a layer's whole recurrence in one direction, for any cell (its math
 * rendered from its recipe, cell-wgsl.ts).
 *
 * Cells with a recurrent matrix (nBRC, GRU, LSTM) run one workgroup per batch row: h_{t-1} sits
 * in workgroup memory, each thread owns ceil(H / workgroupSize) units (workgroups of up to 256
 * threads, so H = 256 is one unit per thread), reads wh from global memory (cached: every row
 * reads the same matrix), and the workgroup meets at one barrier per step. The backward keeps
 * dR_t of the step in workgroup memory and forms dL/dh_{t-1} = pointwise + dR_t @ whᵀ from a
 * transposed copy of wh, so that threads read consecutive addresses. The forward writes that
 * copy (each row's workgroup a share, after its loop) into a private buffer kept per wh buffer,
 * which the backward of the same unit binds: the backward is one dispatch. A backward whose wh
 * had no forward (kernel tests) transposes it in a pass of its own first.
 *
 * The backward uses wh as the last forward with that buffer saw it: the gradient of that forward's
 * computation. Core runs each unit's backward right after its forward, and the optimiser changes
 * the weights only after the backward; a caller that writes new values into wh between a forward
 * and its backward gets the gradient of the forward that ran, not one taken at the new weights.
 *
 * Cells without one (BRC) have no recurrent matrix: every (row, unit) is an independent scalar
 * recurrence, one thread each and no barrier. The pointwise-parameter gradient sums over rows:
 * each thread keeps its share over all steps in registers, and the workgroup (which holds all
 * rows of its units when B ≤ FUSED_WG) adds them up, or a second dispatch does.
 *
 * Optional operands that would take a backward past the device's storage bindings per stage are
 * staged in aux by copy commands (not dispatches) before it, or copied out after (Places).
 * With `zeroState` the forward starts from zeros and writes them into the initial slot itself
 * (writesZeroState), so core runs no fill for it.
 */
export function webgpuSequenceKernels(spec: CellSpec): SequenceKernels {
  const cw = cellWgsl(spec);
  const { gr, npw, hasCellState: withC } = spec;
  const readsP = readsOf(cw.reads.forward, 'P', spec.gx).length > 0;
  const fM = readsOf(cw.reads.forward, 'M', npw);
  const br = cw.reads.backward;
  const readsC = readsOf(br, 'C', spec.cacheWidth).length > 0;
  const bM = readsOf(br, 'M', npw);
  const readsHp = br.has('hp');
  const readsCp = br.has('cp');

  /** The operands a backward (pointwise or recurrent) binds whatever the places. */
  const boundAlways = (a: SequenceBackwardArgs): (Operand | null)[] => [
    readsHp ? a.hAll : null,
    readsCp ? a.cAll : null,
    readsC ? a.cache : null,
    a.dOut,
    a.dP,
    a.dh0,
  ];

  /** dPw = Σ_b of the rows' shares, which the backward left at `off` in `partial`. */
  const reducePw = (runner: WgslRunner, partial: Operand, off: number, a: SequenceBackwardArgs) => {
    runner.run({
      key: 'seq-dpw',
      roles: [
        { name: 'partial', buf: partial, write: false },
        { name: 'dPw', buf: a.dPw, write: true },
      ],
      uniforms: [
        { name: 'n', type: 'u32', value: npw * a.H },
        { name: 'B', type: 'u32', value: a.B },
        { name: 'off', type: 'u32', value: off },
      ],
      workgroups: flatGroups(npw * a.H),
      code: (v) => pwReduceCode(v),
    });
  };

  /**
   * Transposes wh into a private aux (layout: auxLayout) and stages dhN, dcN and the pointwise
   * parameters there: for a backward that found no transposed copy from a forward.
   */
  const prep = (runner: WgslRunner, a: SequenceBackwardArgs) => {
    const { B, H } = a;
    const lay = auxLayout(gr, npw, H, B);
    const aux = runner.scratch('aux', lay.length);
    const stagePw = bM.length > 0;
    runner.run({
      key: `seq-prep/gr${gr}/pw${stagePw ? npw : 0}/${a.dhN ? 'h' : '-'}${withC && a.dcN ? 'c' : '-'}`,
      roles: [
        { name: 'wh', buf: gr > 0 ? a.wh : null, write: false },
        { name: 'dhN', buf: a.dhN, write: false },
        { name: 'dcN', buf: withC ? a.dcN : null, write: false },
        { name: 'pw', buf: stagePw ? a.pw : null, write: false },
        { name: 'aux', buf: aux, write: true },
      ],
      uniforms: seqUniforms(a.T, B, H, a.reverse),
      workgroups: flatGroups(stagePw ? lay.partial : lay.dc0),
      code: (v) => backwardPrepCode(gr, stagePw ? npw : 0, v),
    });
    return aux;
  };

  /**
   * Places of the optional operands (see Places), given the bindings the backward takes anyway
   * (`base`, aux among them when `auxBound`), whether the prep pass staged dhN, dcN and pw in aux
   * already, and how the rows' gradient shares can reach dPw without a reduce (`directW`: summed
   * in the kernel, or B = 1; null: through a reduce).
   */
  const plan = (
    runner: WgslRunner,
    a: SequenceBackwardArgs,
    base: readonly (Operand | null)[],
    auxBound: boolean,
    inputsStaged: boolean,
    directW: 'fused' | 'direct' | null,
  ): Places => {
    const limit = runner.device.limits.maxStorageBuffersPerShaderStage;
    let free = limit - new Set(base.filter((b) => b !== null)).size;
    const want = {
      w: npw > 0 && a.dPw !== null,
      dc0: withC && a.dc0 !== null,
      dhN: a.dhN !== null,
      dcN: withC && a.dcN !== null,
      pw: bM.length > 0,
    };
    // in the order they get a binding: the summed gradient saves a dispatch, each other a copy
    const order: (keyof typeof want)[] = [];
    if (want.w && directW) order.push('w');
    if (want.dc0) order.push('dc0');
    if (!inputsStaged) order.push(...(['dhN', 'dcN', 'pw'] as const).filter((k) => want[k]));
    const inAux =
      (want.w && !directW) || (inputsStaged && (want.dhN || want.dcN || want.pw)) || order.length > free;
    if (inAux && !auxBound) free--;
    const direct = new Set(order.slice(0, Math.max(0, free)));
    const at = (k: 'dc0' | 'dhN' | 'dcN' | 'pw') => (!want[k] ? null : direct.has(k) ? 'direct' : 'aux');
    return {
      w: !want.w ? null : direct.has('w') ? directW : 'aux',
      dc0: at('dc0'),
      dhN: at('dhN'),
      dcN: at('dcN'),
      pw: at('pw'),
    };
  };

  /** Copies the operands placed in aux there, before the backward. */
  const stageIn = (runner: WgslRunner, aux: Operand, p: Places, a: SequenceBackwardArgs, at = 0) => {
    const lay = auxLayout(gr, npw, a.H, a.B);
    const BH = a.B * a.H;
    if (p.dhN === 'aux') runner.copy(a.dhN!, 0, aux, at + lay.dhN, BH);
    if (p.dcN === 'aux') runner.copy(a.dcN!, 0, aux, at + lay.dcN, BH);
    if (p.pw === 'aux') runner.copy(a.pw!, 0, aux, at + lay.pw, npw * a.H);
  };

  /**
   * What the backward left in aux (from element `at`: a member's share of a run's aux) for the
   * caller: dc0, and the rows' dPw shares.
   */
  const stageOut = (runner: WgslRunner, aux: Operand | null, p: Places, a: SequenceBackwardArgs, at = 0) => {
    const lay = auxLayout(gr, npw, a.H, a.B);
    if (p.dc0 === 'aux') runner.copy(aux!, at + lay.dc0, a.dc0!, 0, a.B * a.H);
    // one row's share is the sum itself
    if (p.w === 'aux' && a.B === 1) runner.copy(aux!, at + lay.partial, a.dPw!, 0, npw * a.H);
    else if (p.w === 'aux') reducePw(runner, aux!, at + lay.partial, a);
  };

  /**
   * A forward's roles (a cell without wh: none for wh, bh and whT); `whT`: where it writes wh
   * transposed for the backward.
   */
  const forwardRoles = (a: SequenceForwardArgs, whT: GPUBuffer | null): Role[] => [
    { name: 'p', buf: readsP ? a.p : null, write: false },
    { name: 'wh', buf: a.wh, write: false },
    { name: 'bh', buf: a.bh, write: false },
    { name: 'pw', buf: fM.length > 0 ? a.pw : null, write: false },
    { name: 'hAll', buf: a.hAll, write: true },
    { name: 'cAll', buf: withC ? a.cAll : null, write: true },
    { name: 'cache', buf: spec.cacheWidth > 0 ? a.cache : null, write: true },
    { name: 'whT', buf: whT, write: true },
  ];

  /**
   * A backward's roles, given its aux (null: none) and the places of its optional operands. The
   * rows' pointwise-parameter gradient shares go to `partial` ('direct', recurrent kernels), or
   * their sum to `dPw` ('fused', pointwise kernels).
   */
  const backwardRoles = (a: SequenceBackwardArgs, aux: GPUBuffer | null, p: Places): Role[] => [
    { name: 'aux', buf: aux, write: writesAux(p) },
    { name: 'pw', buf: p.pw === 'direct' ? a.pw : null, write: false },
    { name: 'hAll', buf: readsHp ? a.hAll : null, write: false },
    { name: 'cAll', buf: readsCp ? a.cAll : null, write: false },
    { name: 'cache', buf: readsC ? a.cache : null, write: false },
    { name: 'dOut', buf: a.dOut, write: false },
    { name: 'dhN', buf: p.dhN === 'direct' ? a.dhN : null, write: false },
    { name: 'dcN', buf: p.dcN === 'direct' ? a.dcN : null, write: false },
    { name: 'dP', buf: a.dP, write: true },
    { name: 'dR', buf: a.dR, write: true },
    { name: 'dh0', buf: a.dh0, write: true },
    { name: 'dc0', buf: p.dc0 === 'direct' ? a.dc0 : null, write: true },
    { name: 'partial', buf: p.w === 'direct' ? a.dPw : null, write: true },
    { name: 'dPw', buf: p.w === 'fused' ? a.dPw : null, write: true },
  ];

  /** Everything a forward of a run may bind (memberRuns checks each lies at a fixed stride). */
  const forwardOperands = (a: SequenceForwardArgs) =>
    operandsOf(forwardRoles(a, null).filter((r) => r.name !== 'whT'));
  const backwardOperands = (a: SequenceBackwardArgs) => ({
    pw: bM.length > 0 ? a.pw : null,
    hAll: readsHp ? a.hAll : null,
    cAll: readsCp ? a.cAll : null,
    cache: readsC ? a.cache : null,
    dOut: a.dOut,
    dhN: a.dhN,
    dcN: withC ? a.dcN : null,
    dP: a.dP,
    dR: a.dR,
    dh0: a.dh0,
    dc0: withC ? a.dc0 : null,
    dPw: npw > 0 ? a.dPw : null,
  });
  const sameSizes = (x: SequenceForwardArgs | SequenceBackwardArgs, y: typeof x) =>
    x.T === y.T && x.B === y.B && x.H === y.H && x.reverse === y.reverse;
  const sameForwards = (x: SequenceForwardArgs, y: SequenceForwardArgs) =>
    sameSizes(x, y) && !x.zeroState === !y.zeroState;

  /** Cells without a recurrent matrix (BRC): one thread per (row, unit), see above. */
  function pointwiseKernels(): SequenceKernels {
    /** The rows of JW units each workgroup of the fused backward takes (FUSED_WG). */
    const fusedWidth = (p: Places, B: number) => (p.w === 'fused' ? Math.floor(FUSED_WG / B) : 0);
    const backwardPlaces = (runner: WgslRunner, a: SequenceBackwardArgs, base: (object | null)[]) =>
      plan(runner, a, base as Operand[], false, false, a.B <= FUSED_WG ? 'fused' : null);

    const forward = (a: SequenceForwardArgs): void => {
      const { T, B, H } = a;
      wgslRunner().run({
        key: `seq-fwd-pw/${cw.key}`,
        roles: forwardRoles(a, null),
        uniforms: [...seqUniforms(T, B, H, a.reverse), zeroUniform(a)],
        workgroups: flatGroups(B * H),
        code: (v) => pointwiseForwardCode(cw, v),
        flush: true,
      });
    };

    const backward = (a: SequenceBackwardArgs): void => {
      const { T, B, H } = a;
      const runner = wgslRunner();
      const p = backwardPlaces(runner, a, boundAlways(a));
      const aux = usesAux(p) ? runner.scratch('aux', auxLayout(0, npw, H, B).length) : null;
      if (aux) stageIn(runner, aux, p, a);
      const JW = fusedWidth(p, B);
      runner.run({
        key: `seq-bwd-pw/${cw.key}/${flags(a)}/${placesKey(p)}`,
        roles: backwardRoles(a, aux, p),
        uniforms: [...seqUniforms(T, B, H, a.reverse), { name: 'JW', type: 'u32', value: JW }],
        workgroups: JW > 0 ? Math.ceil(H / JW) : flatGroups(B * H),
        code: (v) => pointwiseBackwardCode(cw, v, p),
        flush: true,
      });
      stageOut(runner, aux, p, a);
    };

    return {
      writesZeroState: true,
      forward,
      backward,

      /** Runs of members whose operands lie at fixed strides take one dispatch (M·B·H threads). */
      forwardMany(list: readonly SequenceForwardArgs[]): void {
        for (const run of memberRuns(list, forwardOperands, sameForwards)) {
          if (run.list.length === 1) {
            forward(run.list[0]);
            continue;
          }
          const a = run.list[0];
          const { T, B, H } = a;
          const M = run.list.length;
          const roles = forwardRoles(a, null);
          const { names, uniforms } = runUniforms(run, roles);
          wgslRunner().run({
            key: `seq-fwd-pw-many/${cw.key}`,
            roles: wholeRoles(roles),
            uniforms: [...seqUniforms(T, B, H, a.reverse), zeroUniform(a), ...uniforms],
            workgroups: flatGroups(M * B * H),
            code: memberCode(names, (v) => pointwiseForwardCode(cw, v, names)),
            flush: true,
          });
        }
      },

      /** The same for the backwards; staged operands go to each member's share of one aux. */
      backwardMany(list: readonly SequenceBackwardArgs[]): void {
        const runner = wgslRunner();
        for (const run of memberRuns(list, backwardOperands, sameSizes)) {
          if (run.list.length === 1) {
            backward(run.list[0]);
            continue;
          }
          const a = run.list[0];
          const { T, B, H } = a;
          const M = run.list.length;
          const p = backwardPlaces(runner, a, boundAlways(a).map(memoryOf));
          const stride = auxLayout(0, npw, H, B).length;
          const aux = usesAux(p) ? runner.scratch('aux-many', M * stride) : null;
          if (aux) for (const [k, m] of run.list.entries()) stageIn(runner, aux, p, m, k * stride);
          const JW = fusedWidth(p, B);
          const NJ = JW > 0 ? Math.ceil(H / JW) : 0;
          const roles = backwardRoles(a, aux, p);
          const { names, uniforms } = runUniforms(run, roles, [['aux', { base: 0, stride }]]);
          runner.run({
            key: `seq-bwd-pw-many/${cw.key}/${flags(a)}/${placesKey(p)}`,
            roles: wholeRoles(roles),
            uniforms: [
              ...seqUniforms(T, B, H, a.reverse),
              { name: 'JW', type: 'u32', value: JW },
              { name: 'NJ', type: 'u32', value: NJ },
              ...uniforms,
            ],
            workgroups: JW > 0 ? M * NJ : flatGroups(M * B * H),
            code: memberCode(names, (v) => pointwiseBackwardCode(cw, v, p, names)),
            flush: true,
          });
          if (aux) for (const [k, m] of run.list.entries()) stageOut(runner, aux, p, m, k * stride);
        }
      },
    };
  }

  if (gr === 0) return pointwiseKernels();

  const forward = (a: SequenceForwardArgs): void => {
    const { T, B, H } = a;
    const runner = wgslRunner();
    const plan = rowsOf(runner, H, gr);
    const whT = a.wh ? auxForForward(runner, a.wh, gr, H, auxLayout(gr, npw, H, B).length) : null;
    runner.run({
      key: `seq-fwd/${cw.key}/${planKey(plan)}/${a.bh ? 'bh' : 'nobh'}`,
      roles: forwardRoles(a, whT),
      uniforms: [...seqUniforms(T, B, H, a.reverse), zeroUniform(a)],
      workgroups: B,
      code: (v) => recurrentForwardCode(cw, plan, v),
      flush: true,
    });
  };

  const backward = (a: SequenceBackwardArgs): void => {
    const { T, B, H } = a;
    const runner = wgslRunner();
    const rows = rowsOf(runner, H, gr);
    const lay = auxLayout(gr, npw, H, B);
    const t = transposedOf(runner);
    const have = a.wh && t.stamp.get(a.wh) === 'solo' ? t.byWh.get(a.wh) : undefined;
    const fresh = have && have.H === H && have.gr === gr && have.floats >= lay.length;
    const aux = fresh ? have.buf : prep(runner, a);
    const p = plan(runner, a, [aux, a.dR, ...boundAlways(a)], true, !fresh, B === 1 ? 'direct' : null);
    if (fresh) stageIn(runner, aux, p, a);
    runner.run({
      key: `seq-bwd/${cw.key}/${planKey(rows)}/${a.dOut ? 'dout' : 'nodout'}/${placesKey(p)}`,
      roles: backwardRoles(a, aux, p),
      uniforms: seqUniforms(T, B, H, a.reverse),
      workgroups: B,
      code: (v) => recurrentBackwardCode(cw, rows, v, p),
      flush: true,
    });
    stageOut(runner, aux, p, a);
  };

  return {
    writesZeroState: true,
    forward,
    backward,

    /**
     * Runs of members whose operands lie at fixed strides take one dispatch of M·B workgroups
     * (member mi = workgroup / B), each member's whT in its share of the run's aux; the rest run
     * one by one.
     */
    forwardMany(list: readonly SequenceForwardArgs[]): void {
      for (const run of memberRuns(list, forwardOperands, sameForwards)) {
        if (run.list.length === 1 || !run.list[0].wh) {
          for (const a of run.list) forward(a);
          continue;
        }
        const a = run.list[0];
        const { T, B, H } = a;
        const M = run.list.length;
        const runner = wgslRunner();
        const rows = rowsOf(runner, H, gr);
        const lay = auxLayout(gr, npw, H, B);
        const aux = groupAuxForForward(
          runner,
          run.list.map((m) => m.wh!),
          gr,
          H,
          lay.length,
        );
        const roles = forwardRoles(a, aux.buf);
        const { names, uniforms } = runUniforms(run, roles, [['whT', { base: 0, stride: lay.length }]]);
        runner.run({
          key: `seq-fwd-many/${cw.key}/${planKey(rows)}/${a.bh ? 'bh' : 'nobh'}`,
          roles: wholeRoles(roles),
          uniforms: [...seqUniforms(T, B, H, a.reverse), zeroUniform(a), ...uniforms],
          workgroups: M * B,
          code: memberCode(names, (v) => recurrentForwardCode(cw, rows, v, names)),
          flush: true,
        });
      }
    },

    /**
     * The backwards of runs whose forward ran as one (their whT in the run's aux) take one
     * dispatch; the rest run one by one (transposing wh first).
     */
    backwardMany(list: readonly SequenceBackwardArgs[]): void {
      const runner = wgslRunner();
      const t = transposedOf(runner);
      for (const run of memberRuns(list, backwardOperands, sameSizes)) {
        const a = run.list[0];
        const { T, B, H } = a;
        const M = run.list.length;
        const lay = auxLayout(gr, npw, H, B);
        const key =
          M > 1 && a.wh
            ? runKey(
                run.list.map((m) => m.wh!),
                gr,
                H,
              )
            : null;
        const g = key ? t.groups.get(key) : undefined;
        const fresh =
          g !== undefined && g.stride === lay.length && run.list.every((m) => t.stamp.get(m.wh!) === g.label);
        if (!fresh) {
          for (const m of run.list) backward(m);
          continue;
        }
        const rows = rowsOf(runner, H, gr);
        const p = plan(
          runner,
          a,
          [g.buf, ...[a.dR, ...boundAlways(a)].map(memoryOf)],
          true,
          false,
          B === 1 ? 'direct' : null,
        );
        for (const [k, m] of run.list.entries()) stageIn(runner, g.buf, p, m, k * g.stride);
        const roles = backwardRoles(a, g.buf, p);
        const { names, uniforms } = runUniforms(
          run,
          roles,
          [['aux', { base: 0, stride: g.stride }]],
          partialIsDPw,
        );
        runner.run({
          key: `seq-bwd-many/${cw.key}/${planKey(rows)}/${a.dOut ? 'dout' : 'nodout'}/${placesKey(p)}`,
          roles: wholeRoles(roles),
          uniforms: [...seqUniforms(T, B, H, a.reverse), ...uniforms],
          workgroups: M * B,
          code: memberCode(names, (v) => recurrentBackwardCode(cw, rows, v, p, names)),
          flush: true,
        });
        for (const [k, m] of run.list.entries()) stageOut(runner, g.buf, p, m, k * g.stride);
      }
    },
  };
}

/** The recurrent backward's role `partial` binds the rows' shares of dPw (Places.w 'direct'). */
const partialIsDPw = (role: string) => (role === 'partial' ? 'dPw' : role);

/**
 * The row plan of a recurrent kernel under the split in force (recurrentSplit: 1, no split,
 * unless set), within this device's workgroup size and memory and, where allowed, in subgroups.
 */
function rowsOf(runner: WgslRunner, H: number, gr: number) {
  const l = runner.device.limits;
  return recurrentPlan(H, gr, recurrentSplit(), {
    storageBytes: runner.workgroupStorageBytes,
    maxThreads: Math.min(l.maxComputeInvocationsPerWorkgroup, l.maxComputeWorkgroupSizeX),
    subgroupSize: recurrentSubgroups() ? runner.subgroupSize : 0,
  });
}

function seqUniforms(T: number, B: number, H: number, reverse: boolean) {
  if (!(T > 0 && B > 0 && H > 0)) throw new InputError(`empty sequence: T=${T}, B=${B}, H=${H}`);
  return [
    { name: 'n', type: 'u32' as const, value: B * H },
    { name: 'T', type: 'u32' as const, value: T },
    { name: 'B', type: 'u32' as const, value: B },
    { name: 'rev', type: 'u32' as const, value: reverse ? 1 : 0 },
    // equal to the shader's compiled-in H; loop bounds read it (see sequence-recurrent.ts)
    { name: 'H', type: 'u32' as const, value: H },
  ];
}

/** 1: the forward starts from zeros and writes them into the initial slot (writesZeroState). */
const zeroUniform = (a: SequenceForwardArgs) => ({
  name: 'zero',
  type: 'u32' as const,
  value: a.zeroState ? 1 : 0,
});

/** Which optional gradients are present: each combination is its own shader. */
function flags(a: SequenceBackwardArgs): string {
  return `${a.dOut ? 'o' : '-'}${a.dhN ? 'h' : '-'}${a.dcN ? 'c' : '-'}`;
}
