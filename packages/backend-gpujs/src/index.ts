export { GpujsBackend, MAX_BUFFER_LENGTH } from './backend.js';
export type { GpujsMode } from './gpujs/types.js';
export { createGpujsBackend, registerGpujsBackend, registerGpujsBackends } from './register.js';
export { GPUJS_VARIANTS, type GpujsVariant } from './variants.js';

import { registerGpujsBackends } from './register.js';

// importing the package makes its backends available to getBackend('auto')
registerGpujsBackends();
