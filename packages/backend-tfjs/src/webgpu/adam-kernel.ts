/// <reference types="@webgpu/types" />
import type { AdamArgs } from '@bistable/core';
import { type WgslRunner, wgslRunner } from './runner.js';
import { flatEntry, flatGroups } from './wgsl-common.js';

/** The step-dependent factors of one optimiser's hyperparameters, on the device. */
interface Hyper {
  buf: GPUBuffer;
  step: number;
}

const hypers = new WeakMap<WgslRunner, Map<string, Hyper>>();
/** Host scratch for the factors: the runner's write copies them before it returns. */
const factors = new Float32Array(2);

/**
 * The device buffer holding [lr / (1 − β1^t), √(1 − β2^t)] for step t, updated when t changes.
 * With them out of the uniforms, every parameter's dispatch has the same uniforms each step, so
 * the runner reuses its bind group instead of building one per step. The update is the runner's
 * in-place write, which lands in order with the dispatches (after the previous step's, which may
 * be recorded but not yet submitted) and makes no buffer of its own.
 */
function stepFactors(runner: WgslRunner, a: AdamArgs): GPUBuffer {
  let byHyper = hypers.get(runner);
  if (!byHyper) {
    byHyper = new Map();
    hypers.set(runner, byHyper);
  }
  const key = `${a.lr}|${a.beta1}|${a.beta2}`;
  let h = byHyper.get(key);
  if (!h) {
    const buf = runner.device.createBuffer({
      size: 16,
      usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST,
    });
    h = { buf, step: Number.NaN };
    byHyper.set(key, h);
  }
  if (h.step !== a.step) {
    // factors computed in float64 on the host, as core's adamHost does, then rounded once
    factors[0] = a.lr / (1 - a.beta1 ** a.step);
    factors[1] = Math.sqrt(1 - a.beta2 ** a.step);
    runner.write(h.buf, 0, factors);
    h.step = a.step;
  }
  return h.buf;
}

/** torch's Adam (core's adamHost) as one dispatch per parameter buffer, updated in place. */
export function webgpuAdam(a: AdamArgs): void {
  const { beta1, beta2, eps, weightDecay } = a;
  const n = a.param.length;
  if (n === 0) return;
  const runner = wgslRunner();
  runner.run({
    key: `adam/${weightDecay !== 0 ? 'wd' : 'nowd'}`,
    roles: [
      { name: 'param', buf: a.param, write: true },
      { name: 'grad', buf: a.grad, write: false },
      { name: 'm', buf: a.m, write: true },
      { name: 'v', buf: a.v, write: true },
      { name: 'hyper', buf: stepFactors(runner, a), write: false },
    ],
    uniforms: [
      { name: 'n', type: 'u32', value: n },
      { name: 'beta1', type: 'f32', value: beta1 },
      { name: 'beta2', type: 'f32', value: beta2 },
      { name: 'omb1', type: 'f32', value: 1 - beta1 },
      { name: 'omb2', type: 'f32', value: 1 - beta2 },
      { name: 'eps', type: 'f32', value: eps },
      { name: 'wd', type: 'f32', value: weightDecay },
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
  ${v.param}[idx] = p - (${v.hyper}[0] * m1) / (sqrt(v1) / ${v.hyper}[1] + u.eps);`),
  });
}
