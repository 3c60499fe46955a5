/**
 * Node-only helpers for tfjs-layers models (they use Node's file system, so they live apart from
 * the browser-safe `@bistable/backend-tfjs/layers`):
 *
 *   import { fileIO } from '@bistable/backend-tfjs/node';
 *   await model.save(fileIO('./my-model'));
 */
export { fileIO } from './file-io.js';
