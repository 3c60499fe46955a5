import { getBackend, KERNEL_LEVEL, type KernelLevel, probeBackend } from '@bistable/core';
import { bundledGoldenPath, conformanceCases, loadGolden } from '@bistable/core/testing';
import { describe, expect, it } from 'vitest';
import '../src/index.js';

const golden = await loadGolden(bundledGoldenPath());

/**
 * The GPU modes run where they can: headlessgl under an X server (xvfb-run -a), webgpu with a
 * Vulkan adapter (lavapipe: eval "$(bash scripts/lavapipe.sh)"). Elsewhere they are skipped with
 * the reason printed. The step and sequence levels only: the host level is core's step loop over
 * the same storage, covered on the cpu mode, and every GL shader compile costs a few hundred
 * milliseconds under Mesa.
 */
const levels: KernelLevel[] = [KERNEL_LEVEL.step, KERNEL_LEVEL.sequence];

for (const name of ['gpujs-headlessgl', 'gpujs-webgpu']) {
  const probe = await probeBackend(name);
  if (!probe.ok) console.warn(`skipping ${name}: ${probe.reason}`);
  const be = probe.ok ? await getBackend(name) : null;
  describe.skipIf(!be)(`conformance on ${name} (float32)`, () => {
    for (const c of be ? conformanceCases(golden, be, levels) : []) {
      it(`${c.id} at level ${c.level}`, async () => {
        const r = await c.run(be!, 'float32');
        expect(r.passed, `${r.worst}: forward ${r.forwardError}, gradient ${r.gradientError}`).toBe(true);
      });
    }
  });
}
