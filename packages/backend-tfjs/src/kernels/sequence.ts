import type { CellSpec, SequenceKernels } from '@bistable/core';
import * as tf from '@tensorflow/tfjs-core';
import { range } from '../buffer.js';
import type { TfCellMath } from './cell-math.js';
import { runSequenceBackward, runSequenceForward } from './sequence-loop.js';

const unstackRows = (t: tf.Tensor, n: number, rows: number, cols: number) =>
  tf.unstack(tf.reshape(t, [n, rows, cols])) as tf.Tensor2D[];

/**
 * Level 3 on any tfjs backend (tfjs-node, and WebGPU without the WGSL kernels): each step's
 * pointwise math is the cell's recipe as tfjs ops on [B, ·] tensors (program-ops.ts); the loop
 * over time is sequence-loop.ts. The sequence tensors are unstacked once per call into per-step
 * views.
 */
export function tfjsSequenceKernels(spec: CellSpec, math: TfCellMath): SequenceKernels {
  const { gx, gr, cacheWidth: cw, npw, hasCellState } = spec;
  return {
    forward: (a) =>
      runSequenceForward(spec, a, () => {
        const { T, B, H } = a;
        const ps = unstackRows(range(a.p, 0, T * B * gx * H), T, B, gx * H);
        const bh = a.bh ? range(a.bh, 0, gr * H) : null;
        const pw = a.pw ? range(a.pw, 0, npw * H) : null;
        return ({ t, r, h, c }) =>
          math.forward({ p: ps[t], r: r && bh ? (tf.add(r, bh) as tf.Tensor2D) : r, pw, h, c });
      }),

    backward: (a) =>
      runSequenceBackward(spec, a, () => {
        const { T, B, H } = a;
        const BH = B * H;
        const hs = unstackRows(range(a.hAll, 0, (T + 1) * BH), T + 1, B, H);
        const cs = hasCellState ? unstackRows(range(a.cAll!, 0, (T + 1) * BH), T + 1, B, H) : null;
        const caches = unstackRows(range(a.cache, 0, T * B * cw * H), T, B, cw * H);
        const dOut = a.dOut ? unstackRows(range(a.dOut, 0, T * BH), T, B, H) : null;
        const pw = a.pw ? range(a.pw, 0, npw * H) : null;
        return ({ t, prev, dh, dc, dPw }) => {
          const g = dOut ? (tf.add(dh, dOut[t]) as tf.Tensor2D) : dh;
          const o = math.backward({ g, dc, cache: caches[t], h: hs[prev], c: cs ? cs[prev] : null, pw });
          const sum = o.dPw && dPw ? (tf.add(dPw, o.dPw) as tf.Tensor1D) : (o.dPw ?? dPw);
          return { ...o, dPw: sum };
        };
      }),
  };
}
