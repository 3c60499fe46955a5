import { slotCheckpointer } from '@bistable/tasks';
import type { RunStore } from '../studies/run-store.js';
import { connectChecked } from './connection.js';
import { type QueueStoreRef, runKeys } from './keys.js';

/**
 * A queued run's state in Redis, which every worker reaches: its checkpoints (as the same bytes
 * a checkpoint file holds) and its timing. A worker killed mid-run leaves them for the next one,
 * which resumes from the last epoch end. The result itself goes back as the job's return value.
 */
export async function redisRunStore(ref: QueueStoreRef): Promise<RunStore> {
  const redis = await connectChecked(new URL(ref.url));
  redis.on('error', () => {});
  const keys = runKeys(ref);
  const slotKey = (slot: 'last' | 'best') => (slot === 'last' ? keys.checkpoint : keys.best);
  return {
    finished: async () => null,
    checkpoints: slotCheckpointer({
      async read(slot) {
        const bytes = await redis.getBuffer(slotKey(slot));
        return bytes ? new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength) : null;
      },
      // one SET replaces the value whole, so a kill mid-write leaves the previous checkpoint
      write: async (slot, bytes) => {
        await redis.set(slotKey(slot), Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
      },
      describe: (slot) => `redis key ${slotKey(slot)}`,
    }),
    hasCheckpoint: async () => (await redis.exists(keys.checkpoint)) === 1,
    async readTiming() {
      const text = await redis.get(keys.timing);
      return text ? JSON.parse(text) : null;
    },
    writeTiming: async (t) => {
      await redis.set(keys.timing, JSON.stringify(t));
    },
    writeOutputs: async () => {},
    close: async () => {
      await redis.quit().catch(() => redis.disconnect());
    },
  };
}
