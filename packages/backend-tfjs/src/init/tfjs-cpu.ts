import { BackendUnavailableError } from '@bistable/core';
import * as tf from '@tensorflow/tfjs-core';
import { TfjsBackend } from '../backend.js';
import { importFor } from './import-error.js';

/** tfjs's plain JavaScript backend: available wherever its package (a peer) is installed. */
export async function initTfjsCpu(): Promise<TfjsBackend> {
  await importFor(
    'tfjs-cpu',
    '@tensorflow/tfjs-backend-cpu',
    "install it with 'pnpm add @tensorflow/tfjs-backend-cpu@^4.22.0', or add @tensorflow/tfjs, which includes it",
    () => import('@tensorflow/tfjs-backend-cpu'),
  );
  if (!(await tf.setBackend('cpu')))
    throw new BackendUnavailableError('tfjs-cpu', "tfjs's 'cpu' backend did not start");
  // tfjs-cpu prints an install banner for tfjs-node on its first write in Node; `bistable
  // backends` already tells users which backends they can add, so the banner is only noise
  const cpu = tf.findBackend('cpu') as unknown as { firstUse?: boolean } | null;
  if (cpu && cpu.firstUse === true) cpu.firstUse = false;
  return new TfjsBackend('tfjs-cpu', 'cpu');
}
