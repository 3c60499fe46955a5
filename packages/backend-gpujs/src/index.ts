export { GpujsBackend, MAX_BUFFER_LENGTH } from './backend.js';
export { createGpujsBackend, registerGpujsBackend, registerGpujsBackends } from './register.js';
export { GPUJS_VARIANTS, type GpujsVariant } from './variants.js';
export type { GpujsMode } from './gpujs/types.js';

import { registerGpujsBackends } from './register.js';

// importing the package makes its backends available to getBackend('auto')
registerGpujsBackends();
