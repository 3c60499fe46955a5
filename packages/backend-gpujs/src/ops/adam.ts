import type { AdamArgs } from '@bistable/core';
import { KERNELS } from '../kernels/index.js';
import type { GpujsBuffer, Scope } from '../store/store.js';

/** Adam's update of one parameter buffer, in pieces of at most CHUNK elements per launch. */
const CHUNK = 1 << 20;

export async function adamOp(s: Scope, a: AdamArgs): Promise<void> {
  const param = a.param as GpujsBuffer;
  const grad = a.grad as GpujsBuffer;
  const m = a.m as GpujsBuffer;
  const v = a.v as GpujsBuffer;
  const stepSize = a.lr / (1 - a.beta1 ** a.step);
  const bc2sqrt = Math.sqrt(1 - a.beta2 ** a.step);
  for (let start = 0; start < param.length; start += CHUNK) {
    const n = Math.min(CHUNK, param.length - start);
    const pv = await s.view(param, start, n);
    const gv = await s.view(grad, start, n);
    const mv = await s.view(m, start, n);
    const vv = await s.view(v, start, n);
    const out = await s.run(KERNELS.adam, 3 * n, [
      pv.val,
      pv.off,
      gv.val,
      gv.off,
      mv.val,
      mv.off,
      vv.val,
      vv.off,
      n,
      a.beta1,
      a.beta2,
      a.eps,
      a.weightDecay,
      stepSize,
      bc2sqrt,
    ]);
    s.commit(out, 0, param, start, n);
    s.commit(out, n, m, start, n);
    s.commit(out, 2 * n, v, start, n);
  }
}
