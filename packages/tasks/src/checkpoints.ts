import {
  type Adam,
  InputError,
  loadCheckpoint,
  readCheckpoint,
  type SequenceModel,
  saveCheckpoint,
} from '@bistable/core';
import type { Checkpointer } from './protocols/hooks.js';

/**
 * A Checkpointer on files (Node): `last` is rewritten atomically at every epoch end with the
 * progress needed for an exact resume; `best` (optional) holds the model of the lowest
 * validation loss, as the seed's checkpoint does.
 */
export function fileCheckpointer(paths: { last: string; best?: string }): Checkpointer {
  return {
    async load(model: SequenceModel, optimizer: Adam) {
      const exists = await import('node:fs/promises').then((fs) =>
        fs.access(paths.last).then(
          () => true,
          () => false,
        ),
      );
      if (!exists) return null;
      const c = await loadCheckpoint(paths.last, model, optimizer);
      const progress = c.extra?.progress;
      if (!progress || typeof progress !== 'object') {
        throw new InputError(
          `checkpoint '${paths.last}' holds no run progress; it was not saved by a protocol of @bistable/tasks`,
        );
      }
      return progress as Record<string, unknown>;
    },
    async save(model: SequenceModel, optimizer: Adam, progress: Record<string, unknown>) {
      await saveCheckpoint(paths.last, model, optimizer, { progress });
    },
    async saveBest(model: SequenceModel, optimizer: Adam, info: Record<string, unknown>) {
      if (paths.best) await saveCheckpoint(paths.best, model, optimizer, { best: info });
    },
  };
}

/** The progress saved in a checkpoint file, without loading its weights anywhere. */
export async function readProgress(path: string): Promise<Record<string, unknown> | null> {
  const c = await readCheckpoint(path);
  const p = c.extra?.progress;
  return p && typeof p === 'object' ? (p as Record<string, unknown>) : null;
}
