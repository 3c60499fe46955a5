import { BackendUnavailableError } from '@bistable/core';
import * as tf from '@tensorflow/tfjs-core';
import { TfjsBackend } from '../backend.js';
import { type Importer, importFor, nativeImport } from './import-error.js';

export type NodeFlavour = 'tfjs-node' | 'tfjs-node-gpu';

const PACKAGES: Record<NodeFlavour, string> = {
  'tfjs-node': '@tensorflow/tfjs-node',
  'tfjs-node-gpu': '@tensorflow/tfjs-node-gpu',
};

const HINTS: Record<NodeFlavour, string> = {
  'tfjs-node': "install it with 'pnpm add @tensorflow/tfjs-node'",
  'tfjs-node-gpu':
    "install it with 'pnpm add @tensorflow/tfjs-node-gpu'; it needs an NVIDIA GPU with CUDA 11.2 and cuDNN 8.1",
};

/** Both packages register tfjs's 'tensorflow' backend: one process can hold only one of them. */
let loaded: NodeFlavour | null = null;

/**
 * tfjs-node / tfjs-node-gpu are optional peers: loaded on demand, never required. Their install
 * downloads libtensorflow; where that failed, the import throws and this says so.
 */
export async function initTfjsNode(
  flavour: NodeFlavour,
  importer: Importer = nativeImport,
): Promise<TfjsBackend> {
  const pkg = PACKAGES[flavour];
  if (loaded && loaded !== flavour) {
    // tfjs-node-gpu without a GPU runs libtensorflow on the CPU: that serves tfjs-node as well
    if (flavour === 'tfjs-node' && loaded === 'tfjs-node-gpu') return activate(flavour);
    throw new BackendUnavailableError(
      flavour,
      `${PACKAGES[loaded]} is already loaded in this process, and it cannot hold both it and ${pkg}`,
      `use '${loaded}', or run a separate process`,
    );
  }
  if (!loaded) {
    await importFor(flavour, pkg, HINTS[flavour], importer);
    loaded = flavour;
  }
  const be = await activate(flavour);
  if (flavour === 'tfjs-node-gpu') {
    const native = tf.findBackend('tensorflow') as unknown as { isUsingGpuDevice?: boolean } | null;
    if (native && native.isUsingGpuDevice === false) {
      throw new BackendUnavailableError(
        flavour,
        'libtensorflow found no usable CUDA device',
        'it needs an NVIDIA GPU with CUDA 11.2 and cuDNN 8.1; tfjs-node runs the same code on the CPU',
      );
    }
  }
  return be;
}

async function activate(flavour: NodeFlavour): Promise<TfjsBackend> {
  let ok = false;
  try {
    ok = await tf.setBackend('tensorflow');
  } catch {
    ok = false;
  }
  if (!ok) {
    throw new BackendUnavailableError(
      flavour,
      `${PACKAGES[flavour]} loaded but tfjs's 'tensorflow' backend did not start`,
    );
  }
  return new TfjsBackend(flavour, 'tensorflow');
}
