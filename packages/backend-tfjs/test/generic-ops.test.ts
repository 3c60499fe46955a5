import { CELL_NAMES, CELLS, getBackend, registerBackend, registerKernel } from '@bistable/core';
import { bundledGoldenPath, conformanceCases, loadGolden } from '@bistable/core/testing';
import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { TfjsBackend } from '../src/backend.js';
import { TF_CELL_MATH } from '../src/kernels/index.js';
import { tfjsSequenceKernels } from '../src/kernels/sequence.js';
import { tfjsStepKernels } from '../src/kernels/step.js';

/**
 * tfjs-node and the WebGPU fallback build each step from ordinary tfjs ops (kernels/sequence.ts,
 * kernels/step.ts) instead of the fused step kernel that tfjs-cpu and tfjs-wasm use. Neither
 * libtensorflow nor a GPU is here, so the same kernels run on tfjs-cpu under a test-only name.
 */
const NAME = 'tfjs-cpu-generic-ops';
for (const cell of CELL_NAMES) {
  registerKernel({
    backendName: NAME,
    cell,
    level: 2,
    kernels: tfjsStepKernels(CELLS[cell], TF_CELL_MATH[cell]),
  });
  registerKernel({
    backendName: NAME,
    cell,
    level: 3,
    kernels: tfjsSequenceKernels(CELLS[cell], TF_CELL_MATH[cell]),
  });
}
registerBackend({
  name: NAME,
  priority: -1,
  init: async () => {
    await tf.setBackend('cpu');
    return new TfjsBackend(NAME, 'cpu');
  },
});

const golden = await loadGolden(bundledGoldenPath());

describe('tfjs-op step math (the tfjs-node / WebGPU fallback path) against the oracle, float32', () => {
  for (const c of conformanceCases(golden, NAME, [2, 3])) {
    it(`${c.id} at level ${c.level}`, async () => {
      const r = await c.run(await getBackend(NAME), 'float32');
      expect(r.passed, `${r.worst}: forward ${r.forwardError}, gradient ${r.gradientError}`).toBe(true);
    });
  }
});
