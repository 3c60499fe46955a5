import { getBackend, KERNEL_LEVEL, registerBackend } from '@bistable/core';
import { bundledGoldenPath, conformanceCases, loadGolden } from '@bistable/core/testing';
import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { TfjsBackend } from '../src/backend.js';
import { tfjsOpKernels } from '../src/kernels/index.js';

/**
 * tfjs-node and the WebGPU fallback build each step from ordinary tfjs ops (the cell's recipe run
 * op by op, kernels/program-ops.ts) instead of the fused step kernel that tfjs-cpu and tfjs-wasm
 * use. Neither libtensorflow nor a GPU is here, so the same kernels run on tfjs-cpu under a
 * test-only name.
 */
const NAME = 'tfjs-cpu-generic-ops';
registerBackend({
  name: NAME,
  priority: -1,
  init: async () => {
    await tf.setBackend('cpu');
    const be = new TfjsBackend(NAME, 'cpu');
    be.kernelSource = tfjsOpKernels;
    return be;
  },
});

const golden = await loadGolden(bundledGoldenPath());
const be = await getBackend(NAME);

describe('tfjs-op step math (the tfjs-node / WebGPU fallback path) against the oracle, float32', () => {
  for (const c of conformanceCases(golden, be, [KERNEL_LEVEL.step, KERNEL_LEVEL.sequence])) {
    it(`${c.id} at level ${c.level}`, async () => {
      const r = await c.run(be, 'float32');
      expect(r.passed, `${r.worst}: forward ${r.forwardError}, gradient ${r.gradientError}`).toBe(true);
    });
  }
});
