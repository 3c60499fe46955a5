import { registerTfjsBackends } from './registration.js';
import { registerTfjsTensorAdapter } from './tensor-adapter.js';

export type { TfjsBackend } from './backend.js';
export type { TfjsBuffer } from './buffer.js';
export { restoreTfjsBackend } from './global-policy.js';
export { registerTfjsBackends, TFJS_BACKENDS, type TfjsBackendInfo } from './registration.js';
export { registerTfjsTensorAdapter } from './tensor-adapter.js';

// importing the package makes its backends known to core's registry (nothing loads until used),
// and lets core's API take and return tf.Tensors
registerTfjsBackends();
registerTfjsTensorAdapter();
