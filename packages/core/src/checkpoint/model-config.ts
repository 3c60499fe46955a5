import { z } from 'zod';
import { InputError } from '../backend/errors.js';
import type { DType } from '../backend/types.js';
import type { SequenceModel } from '../models/sequence-model.js';
import type { MultiLayerRNN } from '../runner/multilayer-rnn.js';

/** What a checkpoint can hold: a whole SequenceModel, or a bare MultiLayerRNN. */
export type CheckpointModel = SequenceModel | MultiLayerRNN;

// any registered cell (built-in or defineCell's); building the model resolves the name
const CellName = z.string().min(1);
const Dtype = z.enum(['float32', 'float64']);
const Size = z.number().int().positive();

const SequenceModelConfig = z.object({
  kind: z.literal('SequenceModel'),
  cell: CellName,
  inputSize: Size,
  hiddenSize: Size,
  numLayers: Size,
  bidirectional: z.boolean(),
  outputSize: Size,
  readout: z.enum(['last', 'sequence']),
  loss: z.enum(['mse', 'bce']),
  dtype: Dtype,
  seed: z.number(),
});

const RNNConfig = z.object({
  kind: z.literal('MultiLayerRNN'),
  cell: CellName,
  inputSize: Size,
  hiddenSize: Size,
  numLayers: Size,
  bidirectional: z.boolean(),
  dtype: Dtype,
  batchFirst: z.boolean(),
  returnSequences: z.boolean(),
});

export const ModelConfigSchema = z.discriminatedUnion('kind', [SequenceModelConfig, RNNConfig]);
/** What a checkpoint records of its model, to refuse loading it into a different one. */
export type ModelConfig = z.infer<typeof ModelConfigSchema>;

/** Duck-typed so that two copies of core (src and dist) still recognise each other's models. */
function isSequenceModel(m: CheckpointModel): m is SequenceModel {
  return 'rnn' in m && 'fc' in m;
}

/** The constructor options a checkpoint records for its model. */
export function modelConfig(model: CheckpointModel): ModelConfig {
  if (isSequenceModel(model)) {
    const o = model.options;
    return {
      kind: 'SequenceModel',
      cell: typeof o.cell === 'string' ? o.cell : o.cell.name,
      inputSize: o.inputSize,
      hiddenSize: o.hiddenSize,
      numLayers: o.numLayers,
      bidirectional: o.bidirectional,
      outputSize: o.outputSize,
      readout: o.readout,
      loss: o.loss,
      dtype: o.dtype,
      seed: o.seed,
    };
  }
  return {
    kind: 'MultiLayerRNN',
    cell: model.cell.name,
    inputSize: model.inputSize,
    hiddenSize: model.hiddenSize,
    numLayers: model.numLayers,
    bidirectional: model.bidirectional,
    dtype: model.dtype,
    batchFirst: model.batchFirst,
    returnSequences: model.returnSequences,
  };
}

/**
 * Fields that change what the parameters mean. The seed only picks the initial values, and
 * batchFirst/returnSequences only the layout of the public tensors, so they may differ.
 */
const CHECKED = [
  'cell',
  'inputSize',
  'hiddenSize',
  'numLayers',
  'bidirectional',
  'outputSize',
  'readout',
  'loss',
  'dtype',
] as const;

/** One line naming every difference, or null when the saved model fits this one. */
export function configMismatch(saved: ModelConfig, current: ModelConfig): string | null {
  if (saved.kind !== current.kind) return `it holds a ${saved.kind}, not a ${current.kind}`;
  const a = saved as Record<string, unknown>;
  const b = current as Record<string, unknown>;
  const diffs = CHECKED.filter((k) => k in b && a[k] !== b[k]).map(
    (k) => `${k} is ${JSON.stringify(a[k])} in the checkpoint but ${JSON.stringify(b[k])} in the model`,
  );
  return diffs.length ? diffs.join('; ') : null;
}

/** Torch-named parameter shapes of a model, computed from its sizes (nothing is downloaded). */
export function parameterShapes(model: CheckpointModel): Map<string, number[]> {
  const out = new Map<string, number[]>();
  const rnn = isSequenceModel(model) ? model.rnn : model;
  const prefix = isSequenceModel(model) ? 'rnn.' : '';
  rnn.units.forEach((u, k) => {
    for (const p of rnn.cell.params)
      out.set(`${prefix}cells.${k}.${p.name}`, p.shape(u.inputSize, rnn.hiddenSize));
  });
  if (isSequenceModel(model)) {
    out.set('fc.weight', [model.fc.outFeatures, model.fc.inFeatures]);
    out.set('fc.bias', [model.fc.outFeatures]);
  }
  return out;
}

export function dtypeTag(dtype: DType): 'F32' | 'F64' {
  return dtype === 'float64' ? 'F64' : 'F32';
}

/** Parses the `model` metadata entry; a failure names the offending field. */
export function parseModelConfig(json: unknown): ModelConfig {
  const r = ModelConfigSchema.safeParse(json);
  if (!r.success) {
    const issue = r.error.issues[0];
    throw new InputError(
      `corrupt checkpoint metadata: 'model' at ${issue.path.join('.') || '(root)'}: ${issue.message}`,
    );
  }
  return r.data;
}
