import { cellSpec } from '../cells/index.js';
import type { CellSpec } from '../cells/spec.js';
import { hostStepDriver } from '../runner/host-step.js';
import { backwardSteps, forwardSteps, type StepScratch } from '../runner/step-loop.js';
import { InputError } from './errors.js';
import {
  type Backend,
  type CellKernelOffer,
  type DType,
  KERNEL_LEVEL,
  type KernelLevel,
  type NarrowInputKernels,
  type SequenceBackwardArgs,
  type SequenceForwardArgs,
  type SequenceKernels,
  type StepKernels,
} from './types.js';

type Offer = { step?: StepKernels; sequence?: SequenceKernels };

// kernels belong to the backend instance that runs them: nothing here outlives it
const registered = new WeakMap<Backend, Map<string, Offer>>();
const offers = new WeakMap<Backend, Map<CellSpec, Offer>>();

/**
 * Adds fused kernels for one cell to one backend instance, in front of what the backend offers
 * itself (tfjs-core's registerKernel, per instance). Registering a cell's level twice on the
 * same backend is an error: two kernels for one job would leave which one runs to chance.
 *
 * @category Backends
 */
export function registerKernel<L extends 2 | 3>(reg: {
  backend: Backend;
  cell: string | CellSpec;
  level: L;
  kernels: L extends 2 ? StepKernels : SequenceKernels;
}): void {
  const spec = cellSpec(reg.cell);
  const key = reg.level === KERNEL_LEVEL.step ? 'step' : 'sequence';
  const byCell = registered.get(reg.backend) ?? new Map<string, Offer>();
  registered.set(reg.backend, byCell);
  const offer = byCell.get(spec.name) ?? {};
  if (offer[key]) {
    throw new InputError(
      `${spec.name} already has ${key}-level kernels registered on backend '${reg.backend.name}'`,
    );
  }
  byCell.set(spec.name, { ...offer, [key]: reg.kernels });
  offers.get(reg.backend)?.delete(spec);
}

/** What a backend instance runs for a cell: registered kernels first, then its own offer. */
export function offeredKernels(be: Backend, cell: string | CellSpec): CellKernelOffer {
  const spec = cellSpec(cell);
  const byCell = offers.get(be) ?? new Map<CellSpec, Offer>();
  offers.set(be, byCell);
  let offer = byCell.get(spec);
  if (!offer) {
    const own = be.cellKernels?.(spec) ?? {};
    const extra = registered.get(be)?.get(spec.name) ?? {};
    offer = { step: extra.step ?? own.step, sequence: extra.sequence ?? own.sequence };
    byCell.set(spec, offer);
  }
  return offer;
}

/** The levels a backend runs a cell at: always host (1), plus the fused levels it offers. */
export function kernelLevels(be: Backend, cell: string | CellSpec): KernelLevel[] {
  const o = offeredKernels(be, cell);
  const levels: KernelLevel[] = [KERNEL_LEVEL.host];
  if (o.step) levels.push(KERNEL_LEVEL.step);
  if (o.sequence) levels.push(KERNEL_LEVEL.sequence);
  return levels;
}

/** Per-unit scratch the step loops need, owned by the unit that runs them. */
export interface UnitContext {
  scratch(B: number): StepScratch;
}

/**
 * One complete kernel set for a cell on a backend, at the highest level it offers up to a cap:
 * whole-sequence passes. What the backend leaves out core fills in (step loops around step
 * kernels or the host functions), so the runner has one path whatever the backend offers; the
 * runner sums the bias gradients itself where `biasGradients` is false.
 */
export interface UnitKernels {
  readonly level: KernelLevel;
  /** The backward writes dBx and dBh (overwriting) when they are given; false: the caller sums them. */
  readonly biasGradients: boolean;
  /** The forward honours SequenceForwardArgs.zeroState (see SequenceKernels.writesZeroState). */
  readonly writesZeroState: boolean;
  forward(a: SequenceForwardArgs, ctx: UnitContext): Promise<void>;
  backward(a: SequenceBackwardArgs, ctx: UnitContext): Promise<void>;
  /** Kernels that project a narrow input inside their time loop (sequence level only), or null. */
  readonly narrowInput: NarrowInputKernels | null;
  /** Several models' forwards at once (SequenceKernels.forwardMany; sequence level only), or null. */
  readonly forwardMany: ((list: readonly SequenceForwardArgs[]) => void | Promise<void>) | null;
  /** Several models' backwards at once (SequenceKernels.backwardMany), or null. */
  readonly backwardMany: ((list: readonly SequenceBackwardArgs[]) => void | Promise<void>) | null;
}

/** The complete kernel set (see UnitKernels) built from a backend's offer, capped at `maxLevel`. */
export function cellKernels(
  be: Backend,
  spec: CellSpec,
  maxLevel: KernelLevel,
  H: number,
  dtype: DType,
): UnitKernels {
  const offer = offeredKernels(be, spec);
  if (maxLevel >= KERNEL_LEVEL.sequence && offer.sequence) return fromSequence(offer.sequence);
  const step = maxLevel >= KERNEL_LEVEL.step ? offer.step : undefined;
  const level = step ? KERNEL_LEVEL.step : KERNEL_LEVEL.host;
  let host: { B: number; driver: StepKernels } | null = null;
  const driver = (B: number): StepKernels => {
    if (step) return step;
    if (!host || host.B !== B) host = { B, driver: hostStepDriver(be, spec, B, H, dtype) };
    return host.driver;
  };
  return {
    level,
    biasGradients: false,
    writesZeroState: false,
    forward: (a, ctx) => forwardSteps(be, spec, a, driver(a.B), ctx.scratch(a.B)),
    backward: (a, ctx) => backwardSteps(be, spec, a, driver(a.B), ctx.scratch(a.B)),
    narrowInput: null,
    forwardMany: null,
    backwardMany: null,
  };
}

function fromSequence(seq: SequenceKernels): UnitKernels {
  const fused = seq.biasGradients === true;
  return {
    level: KERNEL_LEVEL.sequence,
    biasGradients: fused,
    writesZeroState: seq.writesZeroState === true,
    forward: async (a) => {
      await seq.forward(a);
    },
    backward: async (a) => {
      await seq.backward(a);
    },
    // a narrow input's backward never writes dP, so its kernels must sum the biases themselves
    narrowInput: fused ? (seq.narrowInput ?? null) : null,
    forwardMany: seq.forwardMany?.bind(seq) ?? null,
    backwardMany: seq.backwardMany?.bind(seq) ?? null,
  };
}
