import { InputError } from '../backend/errors.js';
import type { Backend } from '../backend/types.js';
import { cellSpec } from '../cells/index.js';
import type { SequenceModelOptions } from './sequence-model.js';

/** The settings of a SequenceModel that decide its size. */
export type ModelSize = Pick<
  SequenceModelOptions,
  'cell' | 'inputSize' | 'hiddenSize' | 'numLayers' | 'bidirectional' | 'outputSize' | 'dtype'
>;

/** The memory a model needs to train, by what holds it. */
export interface MemoryEstimate {
  parameters: number;
  /** Weights and their gradients: what a model holds once built. */
  modelBytes: number;
  /** Adam's two moments. */
  optimizerBytes: number;
  /** A training step's saved activations and projections for `batch` × `seqLen` (0 without them). */
  activationBytes: number;
  total: number;
}

/**
 * A lower bound of the memory a model needs to train: its weights, their gradients, Adam's two
 * moments, and per step the input projections and saved activations of every layer over the
 * whole sequence. Scratch and the backend's own overhead come on top, so a model over this bound
 * surely does not fit, and one under it very probably does.
 */
export function estimateTrainingMemory(o: ModelSize & { batch?: number; seqLen?: number }): MemoryEstimate {
  const spec = cellSpec(o.cell);
  const H = o.hiddenSize;
  const layers = o.numLayers ?? 1;
  const dirs = o.bidirectional ? 2 : 1;
  const bytes = (o.dtype ?? 'float32') === 'float64' ? 8 : 4;
  let parameters = 0;
  let perRow = 0;
  for (let l = 0; l < layers; l++) {
    const I = l === 0 ? o.inputSize : H * dirs;
    const one =
      I * spec.gx * H + H * spec.gr * H + spec.nbx * H + (spec.hasBh ? spec.gr * H : 0) + spec.npw * H;
    parameters += one * dirs;
    perRow += dirs * (spec.gx * H + (spec.cacheWidth + 1) * H);
  }
  const out = o.outputSize ?? 1;
  parameters += H * dirs * out + out;
  const rows = (o.batch ?? 0) * (o.seqLen ?? 0);
  const modelBytes = 2 * parameters * bytes;
  const optimizerBytes = 2 * parameters * bytes;
  const activationBytes = rows * perRow * bytes;
  return {
    parameters,
    modelBytes,
    optimizerBytes,
    activationBytes,
    total: modelBytes + optimizerBytes + activationBytes,
  };
}

/** "1.5 GiB", "12 MiB", "900 B". */
export function formatBytes(n: number): string {
  if (n >= 2 ** 40) return `${(n / 2 ** 40).toFixed(1)} TiB`;
  if (n >= 2 ** 30) return `${(n / 2 ** 30).toFixed(1)} GiB`;
  if (n >= 2 ** 20) return `${(n / 2 ** 20).toFixed(0)} MiB`;
  if (n >= 2 ** 10) return `${(n / 2 ** 10).toFixed(0)} KiB`;
  return `${n} B`;
}

/**
 * Throws an InputError naming the setting that makes a model too large for `limitBytes` (the
 * backend's own limit where it has one), before anything is allocated. `what` counts the parts
 * of the estimate that apply (a model alone, or a whole training run).
 */
export function checkMemoryFits(
  backend: Pick<Backend, 'name' | 'memoryLimits'>,
  o: ModelSize & { batch?: number; seqLen?: number },
  opts: { limitBytes?: number; parts?: 'model' | 'training' } = {},
): MemoryEstimate {
  const full = estimateTrainingMemory(o);
  const est =
    opts.parts === 'model'
      ? { ...full, optimizerBytes: 0, activationBytes: 0, total: full.modelBytes }
      : full;
  const limit = opts.limitBytes ?? backend.memoryLimits?.[o.dtype ?? 'float32'];
  if (limit === undefined || est.total <= limit) return est;
  const weights = est.modelBytes + est.optimizerBytes;
  const blame =
    weights >= est.activationBytes
      ? `hidden size ${o.hiddenSize}: its ${est.parameters.toExponential(2)} parameters${opts.parts === 'model' ? ' and their gradients' : ", their gradients and Adam's moments"} need ${formatBytes(weights)}`
      : `hidden size ${o.hiddenSize} × batch ${o.batch} × sequence length ${o.seqLen}: the saved activations need ${formatBytes(est.activationBytes)}`;
  throw new InputError(
    `a ${o.cell} model with ${blame} (${formatBytes(est.total)} in all), more than backend '${backend.name}' can hold (${formatBytes(limit)})`,
  );
}
