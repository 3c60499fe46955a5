import type { LossGradientArgs } from '@bistable/core';
import { wgslRunner } from './runner.js';
import { flatEntry, flatGroups } from './wgsl-common.js';

/**
 * The gradient of a mean loss on the predictions, one dispatch: 2(p − y)/count (MSE) or
 * (σ(p) − y)/count (BCE on logits), core's mseLoss and bceWithLogitsLoss. With it on the device, a
 * training step never waits for its predictions before recording the backward.
 */
export function webgpuLossGradient(a: LossGradientArgs): void {
  if (a.n === 0) return;
  const mse = a.kind === 'mse';
  wgslRunner().run({
    key: `loss-grad/${a.kind}`,
    roles: [
      { name: 'pred', buf: a.pred, write: false },
      { name: 'target', buf: a.target, write: false },
      { name: 'grad', buf: a.grad, write: true },
    ],
    uniforms: [
      { name: 'n', type: 'u32', value: a.n },
      { name: 'scale', type: 'f32', value: (mse ? 2 : 1) / a.count },
    ],
    workgroups: flatGroups(a.n),
    code: (v) =>
      flatEntry(
        mse
          ? `  ${v.grad}[idx] = u.scale * (${v.pred}[idx] - ${v.target}[idx]);`
          : `  ${v.grad}[idx] = u.scale * (sigm(${v.pred}[idx]) - ${v.target}[idx]);`,
      ),
  });
}
