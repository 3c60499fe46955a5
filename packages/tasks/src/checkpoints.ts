import {
  type Checkpoint,
  captureCheckpoint,
  decodeCheckpoint,
  encodeCheckpoint,
  InputError,
  nodeModule,
  type Optimizer,
  readCheckpoint,
  readFileBytes,
  restoreCheckpoint,
  type SequenceModel,
  writeFileAtomic,
} from '@bistable/core';
import type { Checkpointer } from './protocols/hooks.js';

/**
 * Where a Checkpointer keeps its two checkpoints as bytes: files, a database, memory. `read`
 * returns null when the slot is empty; `write` must replace a slot whole or not at all.
 */
export interface CheckpointSlots {
  read(slot: 'last' | 'best'): Promise<Uint8Array | null>;
  write(slot: 'last' | 'best', bytes: Uint8Array): Promise<void>;
  /** How a slot is named in errors, e.g. its path. */
  describe(slot: 'last' | 'best'): string;
}

function progressOf(c: Checkpoint, where: string): Record<string, unknown> {
  const progress = c.extra?.progress;
  if (!progress || typeof progress !== 'object') {
    throw new InputError(
      `checkpoint ${where} holds no run progress; it was not saved by a protocol of @bistable/tasks`,
    );
  }
  return progress as Record<string, unknown>;
}

/**
 * A Checkpointer on any byte store: `last` is rewritten at every epoch end with the progress
 * needed for an exact resume; `best` holds the model of the lowest validation loss, as
 * brc_pytorch's checkpoint does.
 */
export function slotCheckpointer(slots: CheckpointSlots, opts: { best?: boolean } = {}): Checkpointer {
  const save = async (
    slot: 'last' | 'best',
    model: SequenceModel,
    optimizer: Optimizer,
    extra: Record<string, unknown>,
  ) => slots.write(slot, encodeCheckpoint(await captureCheckpoint(model, optimizer, extra)));
  return {
    async load(model: SequenceModel, optimizer: Optimizer) {
      const bytes = await slots.read('last');
      if (!bytes) return null;
      const where = `'${slots.describe('last')}'`;
      let c: Checkpoint;
      try {
        c = decodeCheckpoint(bytes);
      } catch (err) {
        if (err instanceof InputError) throw new InputError(`checkpoint ${where}: ${err.message}`);
        throw err;
      }
      const progress = progressOf(c, where);
      await restoreCheckpoint(c, model, optimizer, `checkpoint ${where}`);
      return progress;
    },
    save: (model, optimizer, progress) => save('last', model, optimizer, { progress }),
    async saveBest(model, optimizer, info) {
      if (opts.best !== false) await save('best', model, optimizer, { best: info });
    },
  };
}

/** A Checkpointer on files (Node), written atomically; `best` is optional. */
export function fileCheckpointer(paths: { last: string; best?: string }): Checkpointer {
  const path = (slot: 'last' | 'best') => (slot === 'last' ? paths.last : (paths.best as string));
  return slotCheckpointer(
    {
      async read(slot) {
        // no checkpoint yet is a fresh run; any other failure is the file's, named
        const fs = await nodeModule<typeof import('node:fs/promises')>('node:fs/promises');
        const exists = await fs.access(path(slot)).then(
          () => true,
          () => false,
        );
        return exists ? readFileBytes(path(slot), 'checkpoint file') : null;
      },
      write: (slot, bytes) => writeFileAtomic(path(slot), bytes),
      describe: path,
    },
    { best: paths.best !== undefined },
  );
}

/** The progress saved in a checkpoint file, without loading its weights anywhere. */
export async function readProgress(path: string): Promise<Record<string, unknown> | null> {
  const c = await readCheckpoint(path);
  const p = c.extra?.progress;
  return p && typeof p === 'object' ? (p as Record<string, unknown>) : null;
}
