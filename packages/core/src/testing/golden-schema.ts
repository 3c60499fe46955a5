import { z } from 'zod';
import { InputError } from '../backend/errors.js';

/** The oracle file's schema (shared/oracle/README.md): tensors are {shape, data} row-major. */
const Tensor = z
  .object({ shape: z.array(z.number().int().nonnegative()), data: z.array(z.number()) })
  .refine((t) => t.data.length === t.shape.reduce((a, b) => a * b, 1), {
    message: 'data length does not match shape',
  });
/** A tensor of the reference file: shape and float64 data. */
export type GoldenTensor = z.infer<typeof Tensor>;

const Named = z.record(z.string(), Tensor);
const CellName = z.enum(['BRC', 'nBRC', 'GRU', 'LSTM']);

const CellCase = z.object({
  id: z.string(),
  cell: CellName,
  input_size: z.number().int().positive(),
  hidden_size: z.number().int().positive(),
  batch: z.number().int().positive(),
  seq_len: z.number().int().positive(),
  param_names: z.array(z.string()),
  params: Named,
  x: Tensor,
  h0: Tensor,
  c0: Tensor.optional(),
  coef: Tensor,
  h_seq: Tensor,
  c_seq: Tensor.optional(),
  loss: z.number(),
  grads: z.object({ params: Named, x: Tensor, h0: Tensor, c0: Tensor.optional() }),
});

const MultiLayerCase = z.object({
  id: z.string(),
  mode: CellName,
  layers: z.number().int().positive(),
  bidirectional: z.boolean(),
  batch_first: z.boolean(),
  return_sequences: z.boolean(),
  input_size: z.number().int().positive(),
  hidden_size: z.number().int().positive(),
  batch: z.number().int().positive(),
  seq_len: z.number().int().positive(),
  param_names: z.array(z.string()),
  params: Named,
  x: Tensor,
  h0: Tensor,
  c0: Tensor.optional(),
  coef: Tensor,
  output: Tensor,
  h_n: Tensor,
  c_n: Tensor.optional(),
  last_only: Tensor.optional(),
  last_only_h: Tensor.optional(),
  last_only_c: Tensor.optional(),
  loss: z.number(),
  grads: z.object({ params: Named, x: Tensor, h0: Tensor, c0: Tensor.optional() }),
});

const TrainingStepCase = z.object({
  id: z.string(),
  mode: CellName,
  layers: z.number().int().positive(),
  hidden_size: z.number().int().positive(),
  batch: z.number().int().positive(),
  seq_len: z.number().int().positive(),
  x: Tensor,
  y: Tensor,
  param_names: z.array(z.string()),
  params_initial: Named,
  adam: z.object({
    lr: z.number(),
    betas: z.tuple([z.number(), z.number()]),
    eps: z.number(),
    weight_decay: z.number(),
    amsgrad: z.boolean(),
  }),
  losses: z.array(z.number()),
  grads: z.array(Named),
  params_after_step: z.array(Named),
});

/** The zod schema of the reference-vector file computed with brc_pytorch. */
export const GoldenFileSchema = z.object({
  meta: z.object({ dtype: z.literal('float64') }).passthrough(),
  cells: z.array(CellCase),
  multilayer: z.array(MultiLayerCase),
  training_step: z.array(TrainingStepCase).default([]),
});

/** The reference-vector file: cell steps, multi-layer runs and training steps. */
export type GoldenFile = z.infer<typeof GoldenFileSchema>;
/** A reference case of one cell over a short sequence: inputs, parameters, states, a loss and its gradients. */
export type GoldenCellCase = z.infer<typeof CellCase>;
/** A reference case of a multi-layer RNN over a sequence, with its gradients. */
export type GoldenMultiLayerCase = z.infer<typeof MultiLayerCase>;
/** A reference case of Adam training steps: the losses, gradients and parameters after each step. */
export type GoldenTrainingStepCase = z.infer<typeof TrainingStepCase>;

/** Validates parsed JSON against the schema; the error names the first offending path. */
export function parseGolden(json: unknown): GoldenFile {
  const r = GoldenFileSchema.safeParse(json);
  if (!r.success) {
    const issue = r.error.issues[0];
    const path = issue.path.join('.') || '(root)';
    throw new InputError(`golden file does not match the oracle schema at ${path}: ${issue.message}`);
  }
  return r.data;
}
