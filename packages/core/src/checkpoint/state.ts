import { InputError } from '../backend/errors.js';
import type { Optimizer } from '../optim/optimizer.js';
import type { Checkpoint } from './format.js';
import { type CheckpointModel, configMismatch, modelConfig, parameterShapes } from './model-config.js';

/** A checkpoint of a model (and optimiser) as it is now, in memory. */
export async function captureCheckpoint(
  model: CheckpointModel,
  optimizer?: Optimizer,
  extra?: Record<string, unknown>,
): Promise<Checkpoint> {
  return {
    model: modelConfig(model),
    params: await model.getParameters(),
    optimizer: optimizer ? await optimizer.state() : null,
    extra: extra ?? null,
  };
}

const sameShape = (a: readonly number[], b: readonly number[]) =>
  a.length === b.length && a.every((d, i) => d === b[i]);
const fmt = (s: readonly number[]) => `[${s.join(', ')}]`;

/** Every check `restoreCheckpoint` makes, before anything is written. */
async function check(c: Checkpoint, model: CheckpointModel, optimizer: Optimizer | undefined): Promise<void> {
  const mismatch = configMismatch(c.model, modelConfig(model));
  if (mismatch) throw new InputError(`saved from a different model: ${mismatch}`);
  const shapes = parameterShapes(model);
  for (const [name, shape] of shapes) {
    const t = c.params[name];
    if (!t) throw new InputError(`missing parameter '${name}'`);
    if (!sameShape(t.shape, shape)) {
      throw new InputError(`parameter '${name}' has shape ${fmt(t.shape)}, the model expects ${fmt(shape)}`);
    }
    if (t.data.length !== shape.reduce((a, b) => a * b, 1))
      throw new InputError(`parameter '${name}' has the wrong size`);
    const bad = t.data.findIndex((v) => !Number.isFinite(v));
    if (bad >= 0)
      throw new InputError(`parameter '${name}' holds a non-finite value (${t.data[bad]}) at index ${bad}`);
  }
  for (const name of Object.keys(c.params)) {
    if (!shapes.has(name))
      throw new InputError(`unexpected parameter '${name}' (the model has no such parameter)`);
  }
  if (!optimizer) return;
  if (!c.optimizer) throw new InputError('no optimizer state was saved');
  const current = await optimizer.state();
  if (c.optimizer.kind !== current.kind) {
    throw new InputError(`optimizer state is '${c.optimizer.kind}', the optimizer is '${current.kind}'`);
  }
  for (const [slot, data] of Object.entries(current.slots)) {
    const saved = c.optimizer.slots[slot];
    if (!saved) throw new InputError(`missing optimizer slot '${slot}'`);
    if (saved.length !== data.length) {
      throw new InputError(`optimizer slot '${slot}' has ${saved.length} values, expected ${data.length}`);
    }
  }
  for (const slot of Object.keys(c.optimizer.slots)) {
    if (!(slot in current.slots))
      throw new InputError(`unexpected optimizer slot '${slot}' (the optimizer has no such slot)`);
  }
}

/**
 * Loads a checkpoint into a model (and optimiser). Everything is checked first, so a mismatch
 * leaves both untouched. The optimiser keeps its own hyperparameters (a resumed run may change
 * them); its moments and step count come from the checkpoint.
 */
export async function restoreCheckpoint(
  c: Checkpoint,
  model: CheckpointModel,
  optimizer?: Optimizer,
  label = 'checkpoint',
): Promise<void> {
  try {
    await check(c, model, optimizer);
  } catch (err) {
    if (err instanceof InputError) throw new InputError(`${label}: ${err.message}`);
    throw err;
  }
  model.setParameters(c.params);
  if (optimizer && c.optimizer) optimizer.loadState(c.optimizer);
}
