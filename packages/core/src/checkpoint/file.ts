import { InputError } from '../backend/errors.js';
import type { Optimizer } from '../optim/optimizer.js';
import { readFileBytes, writeFileAtomic } from './atomic-write.js';
import { type Checkpoint, decodeCheckpoint, encodeCheckpoint } from './format.js';
import type { CheckpointModel } from './model-config.js';
import { captureCheckpoint, restoreCheckpoint } from './state.js';

/** Saves model parameters (and optimiser state, and `extra`) atomically to `path` (Node only). */
export async function saveCheckpoint(
  path: string,
  model: CheckpointModel,
  optimizer?: Optimizer,
  extra?: Record<string, unknown>,
): Promise<void> {
  await writeFileAtomic(path, encodeCheckpoint(await captureCheckpoint(model, optimizer, extra)));
}

/** Reads and verifies a checkpoint file without loading it into anything (Node only). */
export async function readCheckpoint(path: string): Promise<Checkpoint> {
  const bytes = await readFileBytes(path, 'checkpoint file');
  try {
    return decodeCheckpoint(bytes);
  } catch (err) {
    if (err instanceof InputError) throw new InputError(`checkpoint '${path}': ${err.message}`);
    throw err;
  }
}

/**
 * Loads a checkpoint file into `model` (and `optimizer`), after checking that it was saved from a
 * model of the same configuration. Returns the checkpoint, for its `extra` and optimiser step.
 */
export async function loadCheckpoint(
  path: string,
  model: CheckpointModel,
  optimizer?: Optimizer,
): Promise<Checkpoint> {
  const c = await readCheckpoint(path);
  await restoreCheckpoint(c, model, optimizer, `checkpoint '${path}'`);
  return c;
}
