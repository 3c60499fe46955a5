/**
 * The seam between core and a backend. Core owns shapes and the order of work; a backend owns
 * memory and arithmetic. Three kernel levels (KERNEL_LEVEL; the docs' Architecture page,
 * apps/docs/guide/architecture.md, has the whole design):
 *   host (1), required: storage + row-major GEMM. Core runs each cell's pointwise math on the host.
 *   step (2), optional: fused step kernels (one time step, pointwise part, on the device).
 *   sequence (3), optional: whole-sequence kernels (one layer, one direction, all T steps).
 * A backend offers levels 2 and 3 per cell through `Backend.cellKernels`, usually by rendering
 * the cell's recipe (CellSpec.program); core turns the offer into one complete kernel set.
 */

import type { CellSpec } from '../cells/spec.js';

/**
 * The precision a backend stores and computes in.
 *
 * @category Tensors and parameters
 */
export type DType = 'float32' | 'float64';
/**
 * Host memory in one of the two precisions.
 *
 * @category Tensors and parameters
 */
export type HostArray = Float32Array | Float64Array;
export type { CellName } from '../cells/index.js';
/** How much of a cell a backend runs itself: 1 the GEMM only, 2 a whole step, 3 a whole sequence. */
export type KernelLevel = 1 | 2 | 3;
/**
 * The kernel levels by name: `host` (core's pointwise math on the host around the backend's
 * GEMM), `step` (fused step kernels), `sequence` (whole-sequence kernels).
 *
 * @category Backends
 */
export const KERNEL_LEVEL = { host: 1, step: 2, sequence: 3 } as const;

/** A flat buffer owned by a backend. Core never looks inside; it only passes buffers and offsets. */
export interface DeviceBuffer {
  readonly length: number;
  readonly dtype: DType;
}

/**
 * C[m×n] = alpha · op(A) · op(B) + beta · C, all row-major, BLAS-style leading dimensions and
 * element offsets. op(A) is m×k: stored k×m when transA. op(B) is k×n: stored n×k when transB.
 * beta = 0 must ignore whatever C held (NaN included).
 */
export interface GemmArgs {
  transA: boolean;
  transB: boolean;
  m: number;
  n: number;
  k: number;
  alpha: number;
  beta: number;
  a: DeviceBuffer;
  aOffset: number;
  lda: number;
  b: DeviceBuffer;
  bOffset: number;
  ldb: number;
  c: DeviceBuffer;
  cOffset: number;
  ldc: number;
  /**
   * A row of n values at `biasOffset` added to every row of C (after alpha·op(A)·op(B) + beta·C).
   * Core passes it only to backends that declare `gemmBias`; it saves the input projection a
   * separate pass over its [T·B, gates] output.
   */
  bias?: DeviceBuffer | null;
  biasOffset?: number;
  /**
   * Only the first `biasLength` columns of C get a bias (default n): a cell whose input biases
   * cover some gates only (BRC, nBRC). Core passes it only to backends that declare
   * `gemmBiasLength`.
   */
  biasLength?: number;
}

/**
 * One time step of a cell's pointwise math. `p` holds the input projection of this step (biases
 * included), `r` the recurrent projection `h_prev @ Wh + bh` (absent for cells without one).
 * Offsets are element offsets; every block is [B, width·H] row-major.
 */
export interface StepForwardArgs<Buf> {
  B: number;
  H: number;
  p: Buf;
  pOff: number;
  r: Buf | null;
  rOff: number;
  pw: Buf | null;
  hPrev: Buf;
  hPrevOff: number;
  cPrev: Buf | null;
  cPrevOff: number;
  hOut: Buf;
  hOutOff: number;
  cOut: Buf | null;
  cOutOff: number;
  cache: Buf;
  cacheOff: number;
}

/**
 * The backward of one step. The gradient reaching h_t is `dOut[t] + dhCarry` (dOut may be null);
 * the one reaching c_t is `dcCarry`. Writes dP and dR for this step, the pointwise part of
 * dL/dh_{t-1} into dhPrev (core adds dR @ Whᵀ afterwards), dL/dc_{t-1} into dcPrev, and adds the
 * pointwise parameters' gradient into dPw.
 */
export interface StepBackwardArgs<Buf> {
  B: number;
  H: number;
  dOut: Buf | null;
  dOutOff: number;
  dhCarry: Buf;
  dhCarryOff: number;
  dcCarry: Buf | null;
  dcCarryOff: number;
  cache: Buf;
  cacheOff: number;
  hPrev: Buf;
  hPrevOff: number;
  cPrev: Buf | null;
  cPrevOff: number;
  pw: Buf | null;
  dP: Buf;
  dPOff: number;
  dR: Buf | null;
  dROff: number;
  dhPrev: Buf;
  dhPrevOff: number;
  dcPrev: Buf | null;
  dcPrevOff: number;
  dPw: Buf | null;
}

/**
 * One layer, one direction, all T steps. Sequences are time-major. `hAll` is [(T+1), B, H]: the
 * initial state sits in slot 0 (forward) or slot T (reverse), and the state after consuming
 * x[t] in slot t+1 (forward) or slot t (reverse), so outputs and previous states are both
 * contiguous. `cAll` likewise for LSTM. `wh` is [H, gr·H] (R = h @ wh + bh).
 */
export interface SequenceForwardArgs {
  T: number;
  B: number;
  H: number;
  reverse: boolean;
  p: DeviceBuffer;
  wh: DeviceBuffer | null;
  bh: DeviceBuffer | null;
  pw: DeviceBuffer | null;
  hAll: DeviceBuffer;
  cAll: DeviceBuffer | null;
  cache: DeviceBuffer;
  /**
   * Given only to kernels that declare `writesZeroState`: the initial slot of hAll (and cAll) has
   * not been written; the kernel starts from zeros and writes them there (the backward and the
   * weight gradients read that slot as h_{-1}).
   */
  zeroState?: boolean;
}

/**
 * Backward over the whole sequence. `dOut` [T,B,H] is the gradient on the outputs (time-aligned,
 * may be null), `dhN`/`dcN` [B,H] the gradient on the final state (may be null). Writes dP
 * [T,B,gx·H], dR [T,B,gr·H], dh0 and dc0 [B,H], and dPw [npw·H] (overwritten, not accumulated).
 */
export interface SequenceBackwardArgs {
  T: number;
  B: number;
  H: number;
  reverse: boolean;
  wh: DeviceBuffer | null;
  pw: DeviceBuffer | null;
  hAll: DeviceBuffer;
  cAll: DeviceBuffer | null;
  cache: DeviceBuffer;
  dOut: DeviceBuffer | null;
  dhN: DeviceBuffer | null;
  dcN: DeviceBuffer | null;
  dP: DeviceBuffer;
  dR: DeviceBuffer | null;
  dh0: DeviceBuffer;
  dc0: DeviceBuffer | null;
  dPw: DeviceBuffer | null;
  /**
   * For kernels that declare `biasGradients`: the column sums over all T·B rows of dP's first
   * nbx·H columns [nbx·H] and of dR [gr·H] (overwritten; null: not wanted).
   */
  dBx?: DeviceBuffer | null;
  dBh?: DeviceBuffer | null;
}

/**
 * A layer input of a few features ([T·B, width] time-major rows from `offset`), for kernels that
 * project it inside their time loop (SequenceKernels.narrowInput) instead of reading a [T·B, gx·H]
 * projection that a GEMM wrote beforehand: with one feature (the copy-first-input task) that GEMM
 * is a rank-one update that only moves memory.
 */
export interface NarrowInput {
  x: DeviceBuffer;
  offset: number;
  width: number;
  /** [width, gx·H] input weights. */
  wx: DeviceBuffer;
  /** [gx·H] bias row added to every projection (zeros past nbx·H), or null. */
  bias: DeviceBuffer | null;
}

/** SequenceForwardArgs with the projections computed from a narrow input. */
export interface NarrowSequenceForwardArgs extends Omit<SequenceForwardArgs, 'p'> {
  input: NarrowInput;
}

/**
 * SequenceBackwardArgs for a narrow input: the kernel writes the input weights' gradient dWx
 * [width, gx·H] (overwritten) and the bias gradients (dBx, dBh, required), and dP only when it is
 * given (something else reads it: the input gradient).
 */
export interface NarrowSequenceBackwardArgs extends Omit<SequenceBackwardArgs, 'dP'> {
  input: Omit<NarrowInput, 'wx' | 'bias'> & { dWx: DeviceBuffer };
  dP: DeviceBuffer | null;
}

/** Level-3 kernels that take a narrow input (see NarrowInput). */
export interface NarrowInputKernels {
  /** Widest input they take. */
  maxWidth: number;
  /** dtypes they run in; others go through the projection GEMM. */
  dtypes: readonly DType[];
  forward(args: NarrowSequenceForwardArgs): void | Promise<void>;
  backward(args: NarrowSequenceBackwardArgs): void | Promise<void>;
}

/** What a forward step kernel that computes R = hPrev @ wh + bh itself is given (`r` is then null). */
export interface RecurrentWeights {
  /** [H, gr·H] */
  wh: DeviceBuffer;
  /** [gr·H], or null: no recurrent bias */
  bh: DeviceBuffer | null;
}

/**
 * What a backward step kernel that computes the recurrent product itself is given: the dR of the
 * step processed just before it (at `dROff`, [B, gr·H]) and wh. The gradient reaching h_t is then
 * `dOut[t] + dhCarry + dR @ whᵀ`.
 */
export interface RecurrentCarry {
  dR: DeviceBuffer;
  dROff: number;
  wh: DeviceBuffer;
}

/**
 * A cell's fused step kernels (level 2): one time step forward and backward. They may return a
 * promise (core's host adapter and backends that wait on their device do); the loops await it.
 */
export interface StepKernels {
  /** `rec` is given only when `fusesRecurrent` is set (and the cell has a recurrent product). */
  forward(args: StepForwardArgs<DeviceBuffer>, rec?: RecurrentWeights): void | Promise<void>;
  /** `carry` is given only when `fusesRecurrent` is set: null on the first step processed. */
  backward(args: StepBackwardArgs<DeviceBuffer>, carry?: RecurrentCarry | null): void | Promise<void>;
  /**
   * The step kernels compute the recurrent products themselves, so a step is one launch where
   * launches cost more than arithmetic. The loops then run no GEMM per step: the forward hands
   * each step wh and bh instead of R; the backward hands each step the previous step's dR, whose
   * product with whᵀ the kernel adds to the gradient reaching h, and adds the last step's to dh0
   * with one GEMM after the loop. Without it (the default) the loops run those GEMMs themselves.
   * Ignored for cells without a recurrent product (BRC).
   */
  fusesRecurrent?: boolean;
}

/**
 * The fused kernels a backend offers for one cell: a step pair (level 2), whole-sequence kernels
 * (level 3), both or neither. Core completes the offer (see `cellKernels` in core): what is
 * missing it builds from what is there and from the cell's host functions.
 *
 * @category Backends
 */
export interface CellKernelOffer {
  step?: StepKernels;
  sequence?: SequenceKernels;
}

/** May return a promise (a backend that must wait on its device); the runner awaits it. */
export interface SequenceKernels {
  forward(args: SequenceForwardArgs): void | Promise<void>;
  backward(args: SequenceBackwardArgs): void | Promise<void>;
  /**
   * The backward also writes the bias gradients (SequenceBackwardArgs.dBx/dBh) while the rows of
   * dP and dR pass through it; otherwise core sums dP's and dR's columns afterwards.
   */
  biasGradients?: boolean;
  /** The same passes for an input of a few features, projected inside the time loop. */
  narrowInput?: NarrowInputKernels;
  /**
   * The forward honours SequenceForwardArgs.zeroState: core then leaves the initial state to it
   * instead of filling that slot with zeros first (one pass less per layer).
   */
  writesZeroState?: boolean;
  /**
   * Optional: the forwards of several models of one shape at once (an Ensemble's members at one
   * unit, in member order), each exactly as `forward` would run it. Where the members' buffers
   * are views of shared parents at a fixed stride (an Ensemble's workspaces and arena), a backend
   * can run all of them in one dispatch; what it cannot group it runs one by one.
   */
  forwardMany?(list: readonly SequenceForwardArgs[]): void | Promise<void>;
  /** The backwards of several models at once, as `forwardMany` (each exactly as `backward`). */
  backwardMany?(list: readonly SequenceBackwardArgs[]): void | Promise<void>;
}

/** Adam with torch's update; `step` is 1-based. Buffers are flat and of equal length. */
export interface AdamArgs {
  param: DeviceBuffer;
  grad: DeviceBuffer;
  m: DeviceBuffer;
  v: DeviceBuffer;
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  step: number;
}

/**
 * The gradient of a mean loss with respect to predictions, on the device: `grad[i]` = 2(pred −
 * target)/count for 'mse', (σ(pred) − target)/count for 'bce' (on logits), i < n. `pred`, `target`
 * and `grad` share one layout. The same formulas as core's mseLoss and bceWithLogitsLoss.
 */
export interface LossGradientArgs {
  kind: 'mse' | 'bce';
  pred: DeviceBuffer;
  target: DeviceBuffer;
  grad: DeviceBuffer;
  n: number;
  /** The elements the mean is over. */
  count: number;
}

/**
 * A linear readout on N rows and its loss, forward and backward in one pass (a model's 'last'
 * readout): y = x·wᵀ + b ([N, O]; x is [N, F] rows from `xOffset` with leading dimension F, w is
 * [O, F], b is [O]), the loss gradient dy on y (LossGradientArgs' formulas, over `count`
 * elements), and dx = dy·w ([N, F]). The weight gradients (dyᵀ·x and dy's column sums) are left
 * to GEMMs. Written: y, dy, dx.
 */
export interface LinearLossArgs {
  kind: 'mse' | 'bce';
  N: number;
  F: number;
  O: number;
  x: DeviceBuffer;
  xOffset: number;
  w: DeviceBuffer;
  b: DeviceBuffer;
  target: DeviceBuffer;
  y: DeviceBuffer;
  dy: DeviceBuffer;
  dx: DeviceBuffer;
  count: number;
}

/**
 * Work a GPU backend has issued to its device, counted from the first `counters()` call on (the
 * values only grow; take differences around the work of interest). Benchmarks read it before and
 * after each training step (see BenchResult.device).
 */
export interface DeviceCounters {
  /** Compute dispatches recorded, of every kind (the backend's fused kernels and a library's ops). */
  dispatches: number;
  /** Of `dispatches`, those of the backend's own fused kernels; absent where not told apart. */
  fusedDispatches?: number;
  /** Command buffers submitted to the device queue. */
  submits: number;
  /** Device-to-host copies the host waited for (buffer maps). */
  readbacks: number;
  /**
   * Milliseconds the host spent waiting for the device (readbacks and `sync`): a step's wall time
   * minus this is the time the JavaScript thread spent recording it.
   */
  waitMs: number;
}

/** What every backend must offer (level 1). */
export interface Backend {
  readonly name: string;
  readonly dtypes: readonly DType[];
  /**
   * The largest single buffer, in bytes, this backend can allocate and bind to a kernel (WebGPU:
   * the smaller of the device's maxStorageBufferBindingSize and maxBufferSize, 2 GiB on most
   * GPUs). SequenceModel splits a batch into micro-batches whose buffers stay under it.
   * Undefined: no limit beyond available memory.
   */
  readonly maxBufferBytes?: number;
  /**
   * The most bytes this backend can hold in all, per dtype (the cpu backend's WebAssembly memory:
   * 4 GiB for float32). Models that surely exceed it are refused before anything is allocated
   * (`checkMemoryFits`). Undefined: limited only by the machine.
   */
  readonly memoryLimits?: Partial<Record<DType, number>>;
  /** Whether `gemm` honours `GemmArgs.bias` (otherwise core adds biases with a separate GEMM). */
  readonly gemmBias?: boolean;
  /** Whether `gemm` also honours `GemmArgs.biasLength` (otherwise core pads the bias row first). */
  readonly gemmBiasLength?: boolean;
  /**
   * Element alignment of `view` offsets (a WebGPU storage binding's offset must be a multiple of
   * minStorageBufferOffsetAlignment); 1 when absent.
   */
  readonly viewAlign?: number;
  /**
   * Set by a GPU backend whose device is emulated on the CPU (Mesa's lavapipe or llvmpipe,
   * SwiftShader, a WebGPU fallback adapter): the device's name. `auto` then ranks it below every
   * backend that runs natively, since such a device trains far slower than the `cpu` backend.
   */
  readonly softwareDevice?: string;
  /** A zero-filled buffer. */
  alloc(length: number, dtype: DType): DeviceBuffer;
  /** Copies host data into `buf` at `offset`. */
  write(buf: DeviceBuffer, data: ArrayLike<number>, offset?: number): void;
  /** Copies `length` elements from `offset` back to the host, into `out` when given. */
  read(buf: DeviceBuffer, offset?: number, length?: number, out?: HostArray): Promise<HostArray>;
  fill(buf: DeviceBuffer, value: number, offset?: number, length?: number): void;
  copy(src: DeviceBuffer, srcOffset: number, dst: DeviceBuffer, dstOffset: number, length: number): void;
  dispose(buf: DeviceBuffer): void;
  gemm(args: GemmArgs): void;
  /**
   * Optional: GEMMs that do not depend on one another (no C overlaps another C or any A or B of
   * the list), in as few passes as the backend can (weight gradients of a whole model after its
   * backward). Without it core runs them one by one (`gemmAll`).
   */
  gemmMany?(list: readonly GemmArgs[]): void;
  /**
   * Optional: a buffer that is `length` elements of `buf` from `offset` (a multiple of
   * `viewAlign`), usable wherever a buffer is, and disposed with `buf`. Core allocates a model's
   * parameters and gradients as views of one buffer each (`ParamArena`), and Adam its moments
   * likewise, so an optimizer step is one pass and a backend binds one buffer for all of them.
   */
  view?(buf: DeviceBuffer, offset: number, length: number): DeviceBuffer;
  /**
   * The fused kernels this backend instance runs for a cell, asked once per cell (core keeps the
   * answer). Backends that render recipes (CellSpec.program) serve every cell made with
   * defineCell, user-defined ones included; `undefined` leaves the cell at level 1.
   */
  cellKernels?(cell: CellSpec): CellKernelOffer | undefined;
  /** Optional fused Adam (otherwise core updates on the host). */
  adam?(args: AdamArgs): void;
  /**
   * Optional loss gradient on the device. A GPU backend offers it so that a training step
   * (SequenceModel.trainStep) records forward, loss gradient, backward and update without waiting
   * for the predictions to come back; host backends need not.
   */
  lossGradient?(args: LossGradientArgs): void;
  /** Optional: a linear readout and its loss gradient in one pass (see LinearLossArgs). */
  linearLoss?(args: LinearLossArgs): void;
  /**
   * Optional: several models' readouts at once (an Ensemble's members, in order), each exactly as
   * `linearLoss`; a backend runs those whose buffers lie at a fixed stride in shared buffers as one.
   */
  linearLossMany?(list: readonly LinearLossArgs[]): void;
  /** Waits until queued device work is done (GPU backends); host backends resolve at once. */
  sync?(): Promise<void>;
  /**
   * Optional (GPU backends): the dispatches, submits and readbacks issued so far, and the time the
   * host waited for the device. Counting starts at the first call, so a backend that is never
   * asked pays nothing for it. Host backends leave it out.
   */
  counters?(): DeviceCounters;
  /** Frees everything the backend holds. */
  destroy?(): void;
}
