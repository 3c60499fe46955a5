import { z } from 'zod';
import { InputError } from '../backend/errors.js';
import type { HostArray } from '../backend/types.js';
import type { OptimizerState } from '../optim/optimizer.js';
import type { HostTensor } from '../params/named.js';
import { dtypeTag, type ModelConfig, parseModelConfig } from './model-config.js';
import {
  assemble,
  checkTiling,
  declaredLength,
  packTensors,
  parseEntry,
  readTensor,
  type SafeTensor,
  splitContainer,
  type TensorEntry,
} from './safetensors.js';
import { sha256Hex } from './sha256.js';

/** The format name in a checkpoint's safetensors metadata. */
export const CHECKPOINT_FORMAT = 'bistable-checkpoint';
/** The format version this core writes and reads. */
export const CHECKPOINT_VERSION = '1';
/** Optimiser slots are stored as tensors named `optim.<slot>`. */
export const OPTIM_PREFIX = 'optim.';

/** A checkpoint in memory: what `encodeCheckpoint` writes and `decodeCheckpoint` returns. */
export interface Checkpoint {
  model: ModelConfig;
  /** Torch-named parameters (`rnn.cells.0.kernelz`, `fc.weight`, … or `cells.0.*`). */
  params: Record<string, HostTensor>;
  /** The optimiser's `state()`: kind, step, hyperparameters and flat slots (`<param>.<slot>`). */
  optimizer: OptimizerState | null;
  /** Anything JSON-serialisable the caller wants kept with the weights (epoch, data seed, …). */
  extra: Record<string, unknown> | null;
}

const OptimizerMeta = z.object({
  kind: z.string(),
  step: z.number().int().nonnegative(),
  hyper: z.record(z.string(), z.number()),
});

/** Encodes a checkpoint as a safetensors file (see FORMAT.md). Deterministic: same content, same bytes. */
export function encodeCheckpoint(c: Checkpoint): Uint8Array {
  const dtype = dtypeTag(c.model.dtype);
  const tensors: [string, SafeTensor][] = [];
  for (const [name, t] of Object.entries(c.params)) {
    if (name.startsWith(OPTIM_PREFIX) || name === '__metadata__') {
      throw new InputError(`parameter name '${name}' is reserved in checkpoints`);
    }
    tensors.push([name, { dtype, shape: [...t.shape], data: t.data }]);
  }
  if (c.optimizer) {
    for (const [slot, data] of Object.entries(c.optimizer.slots)) {
      tensors.push([OPTIM_PREFIX + slot, { dtype, shape: [data.length], data }]);
    }
  }
  const { entries, data } = packTensors(tensors);
  const metadata: Record<string, string> = {
    format: CHECKPOINT_FORMAT,
    version: CHECKPOINT_VERSION,
    model: JSON.stringify(c.model),
  };
  if (c.optimizer) {
    const { kind, step, hyper } = c.optimizer;
    metadata.optimizer = JSON.stringify({ kind, step, hyper });
  }
  if (c.extra) {
    try {
      metadata.extra = JSON.stringify(c.extra);
    } catch (err) {
      throw new InputError(`checkpoint extra data is not JSON-serialisable: ${(err as Error).message}`);
    }
  }
  metadata.sha256 = sha256Hex(data);
  return assemble({ __metadata__: metadata, ...entries }, data);
}

function metaJson(meta: Record<string, string>, key: string): unknown {
  try {
    return JSON.parse(meta[key]);
  } catch {
    throw new InputError(`corrupt checkpoint metadata: '${key}' is not valid JSON`);
  }
}

/**
 * Decodes and verifies a checkpoint: container, format and version, length (truncation),
 * checksum (corruption), tensor layout, then the metadata. Every failure is one InputError line.
 */
export function decodeCheckpoint(bytes: Uint8Array): Checkpoint {
  const { header, data } = splitContainer(bytes);
  const rawMeta = header.__metadata__;
  if (
    typeof rawMeta !== 'object' ||
    rawMeta === null ||
    (rawMeta as Record<string, unknown>).format !== CHECKPOINT_FORMAT
  ) {
    throw new InputError('not a bistable checkpoint: the header has no bistable-checkpoint metadata');
  }
  const meta = rawMeta as Record<string, unknown>;
  for (const [k, v] of Object.entries(meta)) {
    if (typeof v !== 'string') throw new InputError(`corrupt checkpoint metadata: '${k}' is not a string`);
  }
  const m = meta as Record<string, string>;
  if (m.version !== CHECKPOINT_VERSION) {
    throw new InputError(
      `unsupported checkpoint version ${JSON.stringify(m.version)}; this version of @bistable/core reads version ${CHECKPOINT_VERSION}`,
    );
  }
  const entries: [string, TensorEntry][] = Object.entries(header)
    .filter(([k]) => k !== '__metadata__')
    .map(([k, v]) => [k, parseEntry(k, v)]);
  const want = declaredLength(entries.map((e) => e[1]));
  if (data.length < want) {
    throw new InputError(
      `truncated checkpoint: the data section holds ${data.length} bytes, the header declares ${want}`,
    );
  }
  if (data.length > want) {
    throw new InputError(
      `corrupt checkpoint: ${data.length - want} unexpected bytes after the declared data`,
    );
  }
  if (typeof m.sha256 !== 'string' || sha256Hex(data) !== m.sha256) {
    throw new InputError(
      'corrupt checkpoint: the sha256 checksum of the data section does not match its metadata',
    );
  }
  checkTiling(entries);

  const model = parseModelConfig(metaJson(m, 'model'));
  const tag = dtypeTag(model.dtype);
  let optimizer: OptimizerState | null = null;
  if (m.optimizer !== undefined) {
    const r = OptimizerMeta.safeParse(metaJson(m, 'optimizer'));
    if (!r.success)
      throw new InputError(`corrupt checkpoint metadata: 'optimizer': ${r.error.issues[0].message}`);
    optimizer = { ...r.data, slots: {} };
  }
  let extra: Record<string, unknown> | null = null;
  if (m.extra !== undefined) {
    const e = metaJson(m, 'extra');
    if (typeof e !== 'object' || e === null || Array.isArray(e)) {
      throw new InputError(`corrupt checkpoint metadata: 'extra' is not a JSON object`);
    }
    extra = e as Record<string, unknown>;
  }
  const params: Record<string, HostTensor> = {};
  const slots: Record<string, HostArray> = {};
  for (const [name, entry] of entries) {
    if (entry.dtype !== tag) {
      throw new InputError(
        `tensor '${name}' is ${entry.dtype} but the checkpoint's model is ${model.dtype} (${tag})`,
      );
    }
    const t = readTensor(entry, data);
    if (name.startsWith(OPTIM_PREFIX)) {
      if (!optimizer) throw new InputError(`corrupt checkpoint: tensor '${name}' without optimizer metadata`);
      slots[name.slice(OPTIM_PREFIX.length)] = t.data;
    } else {
      params[name] = { shape: t.shape, data: t.data };
    }
  }
  if (optimizer) optimizer.slots = slots;
  return { model, params, optimizer, extra };
}
