import { registerBackend, registerKernel } from '../backend/registry.js';
import type {
  AdamArgs,
  Backend,
  DeviceBuffer,
  DType,
  GemmArgs,
  HostArray,
  SequenceBackwardArgs,
  SequenceForwardArgs,
  StepKernels,
} from '../backend/types.js';
import { CELL_NAMES, CELLS } from '../cells/index.js';
import { adamHost } from '../optim/adam-math.js';
import { backwardSteps, forwardSteps, type StepScratch } from '../runner/step-loop.js';
import { gemmHost } from './gemm.js';
import { dataOf, HostBuffer, hostArray } from './host-buffer.js';

/**
 * The oracle backend: plain TypeScript on typed arrays, float64 and float32. Readable first;
 * it registers every kernel level so the conformance kit exercises each path of the runner.
 */
export class ReferenceBackend implements Backend {
  readonly name: string;
  readonly dtypes: readonly DType[] = ['float64', 'float32'];

  constructor(name = 'reference') {
    this.name = name;
  }

  alloc(length: number, dtype: DType): DeviceBuffer {
    return new HostBuffer(hostArray(length, dtype));
  }
  write(buf: DeviceBuffer, data: ArrayLike<number>, offset = 0): void {
    const d = dataOf(buf);
    if (offset + data.length > d.length) {
      throw new RangeError(`write of ${data.length} values at ${offset} overruns a buffer of ${d.length}`);
    }
    d.set(data, offset);
  }
  async read(buf: DeviceBuffer, offset = 0, length?: number, out?: HostArray): Promise<HostArray> {
    const d = dataOf(buf);
    const n = length ?? d.length - offset;
    const view = d.subarray(offset, offset + n);
    if (out) {
      out.set(view);
      return out;
    }
    return view.slice() as HostArray;
  }
  fill(buf: DeviceBuffer, value: number, offset = 0, length?: number): void {
    const d = dataOf(buf);
    d.fill(value, offset, length === undefined ? d.length : offset + length);
  }
  copy(src: DeviceBuffer, srcOffset: number, dst: DeviceBuffer, dstOffset: number, length: number): void {
    dataOf(dst).set(dataOf(src).subarray(srcOffset, srcOffset + length), dstOffset);
  }
  dispose(_buf: DeviceBuffer): void {
    // garbage collected
  }
  gemm(g: GemmArgs): void {
    gemmHost({ ...g, a: dataOf(g.a), b: dataOf(g.b), c: dataOf(g.c) });
  }
  adam(a: AdamArgs): void {
    adamHost({ ...a, param: dataOf(a.param), grad: dataOf(a.grad), m: dataOf(a.m), v: dataOf(a.v) });
  }
}

/** Level 2 on host buffers is core's pointwise math called in place. */
function hostStepKernels(cell: (typeof CELLS)[keyof typeof CELLS]): StepKernels {
  return {
    forward: (a) =>
      cell.forward({
        ...a,
        p: dataOf(a.p),
        r: a.r && dataOf(a.r),
        pw: a.pw && dataOf(a.pw),
        hPrev: dataOf(a.hPrev),
        cPrev: a.cPrev && dataOf(a.cPrev),
        hOut: dataOf(a.hOut),
        cOut: a.cOut && dataOf(a.cOut),
        cache: dataOf(a.cache),
      }),
    backward: (a) =>
      cell.backward({
        ...a,
        dOut: a.dOut && dataOf(a.dOut),
        dhCarry: dataOf(a.dhCarry),
        dcCarry: a.dcCarry && dataOf(a.dcCarry),
        cache: dataOf(a.cache),
        hPrev: dataOf(a.hPrev),
        cPrev: a.cPrev && dataOf(a.cPrev),
        pw: a.pw && dataOf(a.pw),
        dP: dataOf(a.dP),
        dR: a.dR && dataOf(a.dR),
        dhPrev: dataOf(a.dhPrev),
        dcPrev: a.dcPrev && dataOf(a.dcPrev),
        dPw: a.dPw && dataOf(a.dPw),
      }),
  };
}

/** Level 3 on the host: the step loop run inside the backend, with scratch sized per call. */
function hostSequenceKernels(
  be: ReferenceBackend,
  cell: (typeof CELLS)[keyof typeof CELLS],
  step: StepKernels,
) {
  // scratch is reused across calls of the same size, so training steps allocate nothing here
  const cache = new Map<string, StepScratch>();
  const scratch = (B: number, H: number, dtype: DType): StepScratch => {
    const key = `${B}x${H}:${dtype}`;
    let s = cache.get(key);
    if (!s) {
      s = {
        ones: new HostBuffer(hostArray(B, dtype).fill(1)),
        r: cell.gr > 0 ? be.alloc(B * cell.gr * H, dtype) : null,
        dh: [be.alloc(B * H, dtype), be.alloc(B * H, dtype)],
        dc: cell.hasCellState ? [be.alloc(B * H, dtype), be.alloc(B * H, dtype)] : null,
      };
      cache.set(key, s);
    }
    return s;
  };
  return {
    forward: (a: SequenceForwardArgs) => forwardSteps(be, cell, a, step, scratch(a.B, a.H, a.hAll.dtype)),
    backward: (a: SequenceBackwardArgs) => backwardSteps(be, cell, a, step, scratch(a.B, a.H, a.hAll.dtype)),
  };
}

let registered = false;

/** Registers `reference` (priority 0: anything faster wins under `auto`). Idempotent. */
export function registerReferenceBackend(): void {
  if (registered) return;
  registered = true;
  const be = new ReferenceBackend();
  for (const name of CELL_NAMES) {
    const step = hostStepKernels(CELLS[name]);
    registerKernel({ backendName: be.name, cell: name, level: 2, kernels: step });
    registerKernel({
      backendName: be.name,
      cell: name,
      level: 3,
      kernels: hostSequenceKernels(be, CELLS[name], step),
    });
  }
  registerBackend({
    name: be.name,
    priority: 0,
    init: () => be,
    description: 'plain TypeScript on typed arrays; float64 and float32; the oracle',
  });
}
