import { registerTfjsBackends } from './registration.js';

export type { TfjsBackend } from './backend.js';
export type { TfjsBuffer } from './buffer.js';
export { registerTfjsBackends, TFJS_BACKENDS, type TfjsBackendInfo } from './registration.js';

// importing the package makes its backends known to core's registry (nothing loads until used)
registerTfjsBackends();
