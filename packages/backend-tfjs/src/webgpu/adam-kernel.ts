import type { AdamArgs } from '@bistable/core';
import { wgslRunner } from './runner.js';
import { flatEntry, flatGroups } from './wgsl-common.js';

/**
 * torch's Adam (core's adamHost) as one dispatch per parameter buffer: the parameter and both
 * moments are updated in place. Step-dependent factors are computed on the host in float64.
 */
export function webgpuAdam(a: AdamArgs): void {
  const { lr, beta1, beta2, eps, weightDecay, step } = a;
  const n = a.param.length;
  if (n === 0) return;
  wgslRunner().run({
    key: `adam/${weightDecay !== 0 ? 'wd' : 'nowd'}`,
    roles: [
      { name: 'param', buf: a.param, write: true },
      { name: 'grad', buf: a.grad, write: false },
      { name: 'm', buf: a.m, write: true },
      { name: 'v', buf: a.v, write: true },
    ],
    uniforms: [
      { name: 'n', type: 'u32', value: n },
      { name: 'beta1', type: 'f32', value: beta1 },
      { name: 'beta2', type: 'f32', value: beta2 },
      { name: 'omb1', type: 'f32', value: 1 - beta1 },
      { name: 'omb2', type: 'f32', value: 1 - beta2 },
      { name: 'eps', type: 'f32', value: eps },
      { name: 'wd', type: 'f32', value: weightDecay },
      { name: 'stepSize', type: 'f32', value: lr / (1 - beta1 ** step) },
      { name: 'bc2sqrt', type: 'f32', value: Math.sqrt(1 - beta2 ** step) },
    ],
    workgroups: flatGroups(n),
    code: (v) =>
      flatEntry(`
  let p = ${v.param}[idx];
  let g = ${weightDecay !== 0 ? `${v.grad}[idx] + u.wd * p` : `${v.grad}[idx]`};
  let m1 = u.beta1 * ${v.m}[idx] + u.omb1 * g;
  let v1 = u.beta2 * ${v.v}[idx] + u.omb2 * g * g;
  ${v.m}[idx] = m1;
  ${v.v}[idx] = v1;
  ${v.param}[idx] = p - (u.stepSize * m1) / (sqrt(v1) / u.bc2sqrt + u.eps);`),
  });
}
