import type {
  CellKernelOffer,
  NarrowSequenceBackwardArgs,
  NarrowSequenceForwardArgs,
  SequenceBackwardArgs,
  SequenceForwardArgs,
} from '../backend/types.js';
import { CELLS } from '../cells/index.js';
import type { CellSpec } from '../cells/spec.js';
import { dataOf, HostBuffer } from '../reference/host-buffer.js';
import { hostStepKernels, type ViewOf } from '../reference/host-kernels.js';
import type { CpuBackend } from './backend.js';
import { CPU_NARROW_INPUT_MAX, WASM_CELL_IDS } from './backend.js';
import { float64SequenceKernels } from './float64.js';

/**
 * What the cpu backend runs a cell with. The four built-in cells have hand-tuned WebAssembly SIMD
 * sequence kernels (float32; their tables are checked against the recipes in
 * test/cpu-wasm-tables.test.ts), float64 going through core's host math. Any other cell runs its
 * recipe's host functions in place on the WebAssembly heap, one step at a time (level 2).
 */
export function cpuCellKernels(be: CpuBackend, spec: CellSpec, viewOf: ViewOf): CellKernelOffer {
  const wasm =
    WASM_CELL_IDS[spec.name] !== undefined && (CELLS as Record<string, CellSpec>)[spec.name] === spec;
  if (!wasm) return { step: hostStepKernels(spec, viewOf) };
  const { name } = spec;
  let f64: ReturnType<typeof float64SequenceKernels> | null = null;
  const host = () => (f64 ??= float64SequenceKernels(be, spec));
  return {
    sequence: {
      forward: (a: SequenceForwardArgs) =>
        a.hAll instanceof HostBuffer ? host().forward(a) : be.sequenceForward(name, spec.gr, a),
      backward: async (a: SequenceBackwardArgs) => {
        if (!(a.hAll instanceof HostBuffer)) return be.sequenceBackward(name, spec.gr, a);
        await host().backward(a);
        hostBiasGradients(a, spec.nbx, spec.gx, spec.gr);
      },
      biasGradients: true,
      narrowInput: {
        maxWidth: CPU_NARROW_INPUT_MAX,
        dtypes: ['float32'],
        forward: (a: NarrowSequenceForwardArgs) => be.sequenceForward(name, spec.gr, a),
        backward: (a: NarrowSequenceBackwardArgs) => be.sequenceBackward(name, spec.gr, a),
      },
    },
  };
}

/** float64 path: the bias gradients as column sums of dP and dR, after the host backward. */
function hostBiasGradients(a: SequenceBackwardArgs, nbx: number, gx: number, gr: number): void {
  const rows = a.T * a.B;
  const sums = (
    dst: SequenceBackwardArgs['dBx'],
    src: SequenceBackwardArgs['dP'] | null,
    width: number,
    ld: number,
  ) => {
    if (!dst || !src) return;
    const out = dataOf(dst);
    const d = dataOf(src);
    out.fill(0, 0, width);
    for (let r = 0; r < rows; r++) for (let j = 0; j < width; j++) out[j] += d[r * ld + j];
  };
  sums(a.dBx, a.dP, nbx * a.H, gx * a.H);
  sums(a.dBh, a.dR, gr * a.H, gr * a.H);
}
