import {
  type CellName,
  InputError,
  type SequenceBackwardArgs,
  type SequenceForwardArgs,
  type SequenceKernels,
} from '@bistable/core';
import { cellWgsl } from './cell-wgsl.js';
import { wgslRunner } from './runner.js';
import { pointwiseBackwardCode, pointwiseForwardCode, pwReduceCode } from './sequence-pointwise.js';
import {
  auxLength,
  backwardPrepCode,
  recurrentBackwardCode,
  recurrentForwardCode,
  rowPlan,
} from './sequence-recurrent.js';
import { flatGroups } from './wgsl-common.js';

/**
 * Level 3: one dispatch runs a layer's whole recurrence in one direction.
 *
 * Cells with a recurrent matrix (nBRC, GRU, LSTM) run one workgroup per batch row: h_{t-1} sits
 * in workgroup memory, each thread owns ceil(H / workgroupSize) units (workgroups of up to 256
 * threads, so H = 256 is one unit per thread), reads wh from global memory (cached: every row
 * reads the same matrix), and the workgroup meets at one barrier per step. The backward keeps
 * dR_t of the step in workgroup memory and forms dL/dh_{t-1} = pointwise + dR_t @ whᵀ from a
 * transposed copy of wh (one extra small dispatch), so that threads read consecutive addresses.
 *
 * BRC has no recurrent matrix: every (row, unit) is an independent scalar recurrence, one thread
 * each and no barrier. Its memory-vector gradient sums over rows: each thread keeps its share
 * over all steps in registers, and a second dispatch sums the rows.
 */
export function webgpuSequenceKernels(cell: CellName): SequenceKernels {
  const cw = cellWgsl(cell);
  const { gr, npw, hasCellState: lstm } = cw.spec;

  if (gr === 0) {
    return {
      forward(a: SequenceForwardArgs): void {
        const { T, B, H } = a;
        wgslRunner().run({
          key: `seq-fwd-pw/${cell}`,
          roles: [
            { name: 'p', buf: a.p, write: false },
            { name: 'pw', buf: npw > 0 ? a.pw : null, write: false },
            { name: 'hAll', buf: a.hAll, write: true },
            { name: 'cache', buf: a.cache, write: true },
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
        const partial = npw > 0 ? runner.scratch('pw-partial', B * npw * H) : null;
        runner.run({
          key: `seq-bwd-pw/${cell}/${flags(a)}`,
          roles: [
            { name: 'pw', buf: npw > 0 ? a.pw : null, write: false },
            { name: 'hAll', buf: a.hAll, write: false },
            { name: 'cache', buf: a.cache, write: false },
            { name: 'dOut', buf: a.dOut, write: false },
            { name: 'dhN', buf: a.dhN, write: false },
            { name: 'dP', buf: a.dP, write: true },
            { name: 'dh0', buf: a.dh0, write: true },
            { name: 'partial', buf: partial, write: true },
          ],
          uniforms: seqUniforms(T, B, H, a.reverse),
          workgroups: flatGroups(B * H),
          code: (v) => pointwiseBackwardCode(cw, v),
          flush: true,
        });
        if (npw > 0 && a.dPw) {
          runner.run({
            key: 'seq-dpw',
            roles: [
              { name: 'partial', buf: partial, write: false },
              { name: 'dPw', buf: a.dPw, write: true },
            ],
            uniforms: [
              { name: 'n', type: 'u32', value: npw * H },
              { name: 'B', type: 'u32', value: B },
            ],
            workgroups: flatGroups(npw * H),
            code: (v) => pwReduceCode(v),
          });
        }
      },
    };
  }

  return {
    forward(a: SequenceForwardArgs): void {
      const { T, B, H } = a;
      const runner = wgslRunner();
      const plan = rowPlan(H, gr, runner.workgroupStorageBytes);
      runner.run({
        key: `seq-fwd/${cell}/${plan.wg}x${plan.nu}/${a.bh ? 'bh' : 'nobh'}`,
        roles: [
          { name: 'p', buf: a.p, write: false },
          { name: 'wh', buf: a.wh, write: false },
          { name: 'bh', buf: a.bh, write: false },
          { name: 'hAll', buf: a.hAll, write: true },
          { name: 'cAll', buf: lstm ? a.cAll : null, write: true },
          { name: 'cache', buf: a.cache, write: true },
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
      const aux = runner.scratch('aux', auxLength(gr, H, B));
      const uniforms = seqUniforms(T, B, H, a.reverse);
      const staged = gr * H * H + 2 * B * H;
      runner.run({
        key: `seq-prep/gr${gr}/${a.dhN ? 'h' : '-'}${lstm && a.dcN ? 'c' : '-'}`,
        roles: [
          { name: 'wh', buf: a.wh, write: false },
          { name: 'dhN', buf: a.dhN, write: false },
          { name: 'dcN', buf: lstm ? a.dcN : null, write: false },
          { name: 'aux', buf: aux, write: true },
        ],
        uniforms,
        workgroups: flatGroups(staged),
        code: (v) => backwardPrepCode(gr, v),
      });
      runner.run({
        key: `seq-bwd/${cell}/${plan.wg}x${plan.nu}/${a.dOut ? 'dout' : 'nodout'}`,
        roles: [
          { name: 'aux', buf: aux, write: lstm },
          { name: 'hAll', buf: a.hAll, write: false },
          { name: 'cAll', buf: lstm ? a.cAll : null, write: false },
          { name: 'cache', buf: a.cache, write: false },
          { name: 'dOut', buf: a.dOut, write: false },
          { name: 'dP', buf: a.dP, write: true },
          { name: 'dR', buf: a.dR, write: true },
          { name: 'dh0', buf: a.dh0, write: true },
        ],
        uniforms,
        workgroups: B,
        code: (v) => recurrentBackwardCode(cw, plan, v),
        flush: true,
      });
      if (lstm && a.dc0) runner.copy(aux, staged, a.dc0, 0, B * H);
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
