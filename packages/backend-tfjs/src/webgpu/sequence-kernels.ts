import {
  type CellSpec,
  InputError,
  type SequenceBackwardArgs,
  type SequenceForwardArgs,
  type SequenceKernels,
} from '@bistable/core';
import { cellWgsl, readsOf } from './cell-wgsl.js';
import { type Operand, type WgslRunner, wgslRunner } from './runner.js';
import { pointwiseBackwardCode, pointwiseForwardCode, pwReduceCode } from './sequence-pointwise.js';
import {
  auxLayout,
  backwardPrepCode,
  recurrentBackwardCode,
  recurrentForwardCode,
  rowPlan,
} from './sequence-recurrent.js';
import { flatGroups } from './wgsl-common.js';

/**
 * Level 3: one dispatch runs a layer's whole recurrence in one direction, for any cell (its math
 * rendered from its recipe, cell-wgsl.ts).
 *
 * Cells with a recurrent matrix (nBRC, GRU, LSTM) run one workgroup per batch row: h_{t-1} sits
 * in workgroup memory, each thread owns ceil(H / workgroupSize) units (workgroups of up to 256
 * threads, so H = 256 is one unit per thread), reads wh from global memory (cached: every row
 * reads the same matrix), and the workgroup meets at one barrier per step. The backward keeps
 * dR_t of the step in workgroup memory and forms dL/dh_{t-1} = pointwise + dR_t @ whᵀ from a
 * transposed copy of wh (one extra small dispatch), so that threads read consecutive addresses.
 *
 * Cells without one (BRC) have no recurrent matrix: every (row, unit) is an independent scalar
 * recurrence, one thread each and no barrier. The pointwise-parameter gradient sums over rows:
 * each thread keeps its share over all steps in registers, and a second dispatch sums the rows.
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
   * Stages dhN, dcN, the pointwise parameters and (gr > 0) wh transposed in the private `aux`
   * (layout: auxLayout), which the backward reads instead of binding each.
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
    return { aux, lay };
  };

  /** What the backward leaves in aux for the caller: dc0, and the rows' dPw shares. */
  const finish = (
    runner: WgslRunner,
    aux: Operand,
    lay: ReturnType<typeof auxLayout>,
    a: SequenceBackwardArgs,
  ) => {
    if (withC && a.dc0) runner.copy(aux, lay.dc0, a.dc0, 0, a.B * a.H);
    if (npw > 0 && a.dPw) reducePw(runner, aux, lay.partial, a);
  };

  if (gr === 0) {
    // a c would take the direct bindings past 8: such cells stage through aux
    const staged = withC;
    return {
      forward(a: SequenceForwardArgs): void {
        const { T, B, H } = a;
        wgslRunner().run({
          key: `seq-fwd-pw/${cw.key}`,
          roles: [
            { name: 'p', buf: readsP ? a.p : null, write: false },
            { name: 'pw', buf: fM.length > 0 ? a.pw : null, write: false },
            { name: 'hAll', buf: a.hAll, write: true },
            { name: 'cAll', buf: withC ? a.cAll : null, write: true },
            { name: 'cache', buf: spec.cacheWidth > 0 ? a.cache : null, write: true },
          ],
          uniforms: seqUniforms(T, B, H, a.reverse),
          workgroups: flatGroups(B * H),
          code: (v) => pointwiseForwardCode(cw, v),
          flush: true,
        });
      },
      backward(a: SequenceBackwardArgs): void {
        const { T, B, H } = a;
        const runner = wgslRunner();
        const wantW = npw > 0 && a.dPw !== null;
        const st = staged ? prep(runner, a) : null;
        const partial = wantW && !st ? runner.scratch('pw-partial', B * npw * H) : null;
        runner.run({
          key: `seq-bwd-pw/${cw.key}/${flags(a)}/${wantW ? 'w' : '-'}`,
          roles: [
            { name: 'aux', buf: st?.aux ?? null, write: true },
            { name: 'pw', buf: !st && bM.length > 0 ? a.pw : null, write: false },
            { name: 'hAll', buf: readsHp ? a.hAll : null, write: false },
            { name: 'cAll', buf: readsCp ? a.cAll : null, write: false },
            { name: 'cache', buf: readsC ? a.cache : null, write: false },
            { name: 'dOut', buf: a.dOut, write: false },
            { name: 'dhN', buf: st ? null : a.dhN, write: false },
            { name: 'dP', buf: a.dP, write: true },
            { name: 'dh0', buf: a.dh0, write: true },
            { name: 'partial', buf: partial, write: true },
          ],
          uniforms: seqUniforms(T, B, H, a.reverse),
          workgroups: flatGroups(B * H),
          code: (v) => pointwiseBackwardCode(cw, v, staged, wantW),
          flush: true,
        });
        if (st) finish(runner, st.aux, st.lay, a);
        else if (partial) reducePw(runner, partial, 0, a);
      },
    };
  }

  return {
    forward(a: SequenceForwardArgs): void {
      const { T, B, H } = a;
      const runner = wgslRunner();
      const plan = rowPlan(H, gr, runner.workgroupStorageBytes);
      runner.run({
        key: `seq-fwd/${cw.key}/${plan.wg}x${plan.nu}/${a.bh ? 'bh' : 'nobh'}`,
        roles: [
          { name: 'p', buf: readsP ? a.p : null, write: false },
          { name: 'wh', buf: a.wh, write: false },
          { name: 'bh', buf: a.bh, write: false },
          { name: 'pw', buf: fM.length > 0 ? a.pw : null, write: false },
          { name: 'hAll', buf: a.hAll, write: true },
          { name: 'cAll', buf: withC ? a.cAll : null, write: true },
          { name: 'cache', buf: spec.cacheWidth > 0 ? a.cache : null, write: true },
        ],
        uniforms: seqUniforms(T, B, H, a.reverse),
        workgroups: B,
        code: (v) => recurrentForwardCode(cw, plan, v),
        flush: true,
      });
    },

    backward(a: SequenceBackwardArgs): void {
      const { T, B, H } = a;
      const runner = wgslRunner();
      const plan = rowPlan(H, gr, runner.workgroupStorageBytes);
      const wantW = npw > 0 && a.dPw !== null;
      const { aux, lay } = prep(runner, a);
      runner.run({
        key: `seq-bwd/${cw.key}/${plan.wg}x${plan.nu}/${a.dOut ? 'dout' : 'nodout'}/${wantW ? 'w' : '-'}`,
        roles: [
          // written: dc0 and the rows' dPw shares go there
          { name: 'aux', buf: aux, write: withC || wantW },
          { name: 'hAll', buf: readsHp ? a.hAll : null, write: false },
          { name: 'cAll', buf: readsCp ? a.cAll : null, write: false },
          { name: 'cache', buf: readsC ? a.cache : null, write: false },
          { name: 'dOut', buf: a.dOut, write: false },
          { name: 'dP', buf: a.dP, write: true },
          { name: 'dR', buf: a.dR, write: true },
          { name: 'dh0', buf: a.dh0, write: true },
        ],
        uniforms: seqUniforms(T, B, H, a.reverse),
        workgroups: B,
        code: (v) => recurrentBackwardCode(cw, plan, v, wantW),
        flush: true,
      });
      finish(runner, aux, lay, a);
    },
  };
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

/** Which optional gradients are present: each combination is its own shader. */
function flags(a: SequenceBackwardArgs): string {
  return `${a.dOut ? 'o' : '-'}${a.dhN ? 'h' : '-'}${a.dcN ? 'c' : '-'}`;
}
