export { readFileBytes, writeFileAtomic } from './atomic-write.js';
export { loadCheckpoint, readCheckpoint, saveCheckpoint } from './file.js';
export {
  CHECKPOINT_FORMAT,
  CHECKPOINT_VERSION,
  type Checkpoint,
  decodeCheckpoint,
  encodeCheckpoint,
} from './format.js';
export { type CheckpointModel, configMismatch, type ModelConfig, modelConfig } from './model-config.js';
export { sha256Hex } from './sha256.js';
export { captureCheckpoint, restoreCheckpoint } from './state.js';
