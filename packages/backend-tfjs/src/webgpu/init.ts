/// <reference types="@webgpu/types" />
import {
  type AdapterDescription,
  BackendUnavailableError,
  probeWebgpuQuietly,
  quietDawnEnvironment,
} from '@bistable/core';
import type * as tfc from '@tensorflow/tfjs-core';
import { firstLine, type Importer, importFor, isMissingPackage, nativeImport } from '../init/import-error.js';
import { missingInternals } from './tfjs-internals.js';

const NAME = 'tfjs-webgpu';
const WEBGPU_HINT = "install it with 'pnpm add webgpu@0.6.2' (Dawn for Node; 0.6.2 loads on glibc 2.36)";
const onNode =
  typeof (globalThis as { process?: { versions?: { node?: string } } }).process?.versions?.node === 'string';
// the advice differs: Node users can add a software Vulkan driver, browser users can only switch
const ADAPTER_HINT = onNode
  ? 'on a machine without a GPU, use Mesa lavapipe: eval "$(bash scripts/lavapipe.sh)" sets VK_ICD_FILENAMES; ' +
    'otherwise check the GPU driver and its Vulkan ICD'
  : 'enable WebGPU in the browser, or pick tfjs-webgl or another backend';

interface WebgpuPackage {
  create(options: string[]): GPU;
  globals: Record<string, unknown>;
}

type NavigatorWithGpu = { gpu?: GPU };

function currentGpu(): GPU | undefined {
  return (globalThis as { navigator?: NavigatorWithGpu }).navigator?.gpu;
}

/** Installs navigator.gpu (Node 20 has no navigator; Node 21+ has one without gpu). */
function installGpu(gpu: GPU): void {
  const g = globalThis as { navigator?: NavigatorWithGpu };
  if (!g.navigator) {
    Object.defineProperty(globalThis, 'navigator', { value: { gpu }, configurable: true, writable: true });
  } else {
    Object.defineProperty(g.navigator, 'gpu', { value: gpu, configurable: true, writable: true });
  }
}

let adapterSeen: AdapterDescription | null = null;

/** What the adapter tfjs-webgpu started on says about itself; null before the first start. */
export function webgpuAdapter(): AdapterDescription | null {
  return adapterSeen;
}

/** GPUAdapterInfo (`adapter.info`, or the older `requestAdapterInfo()`), and whether it is a fallback. */
async function describeAdapter(adapter: GPUAdapter): Promise<AdapterDescription> {
  const a = adapter as GPUAdapter & {
    info?: AdapterDescription;
    requestAdapterInfo?: () => Promise<AdapterDescription>;
    isFallbackAdapter?: boolean;
  };
  const info = a.info ?? (await a.requestAdapterInfo?.().catch(() => undefined)) ?? {};
  return {
    vendor: info.vendor,
    architecture: info.architecture,
    device: info.device,
    description: info.description,
    isFallbackAdapter: info.isFallbackAdapter ?? a.isFallbackAdapter,
  };
}

/**
 * Makes tfjs's 'webgpu' backend the active one, or throws a BackendUnavailableError that says
 * what is missing. In Node, navigator.gpu comes from the optional `webgpu` package (Dawn);
 * tfjs-backend-webgpu registers itself only if navigator.gpu exists when it is first imported,
 * so it is imported after. An adapter is requested first, so a missing driver is named as such
 * rather than surfacing as tfjs's generic failure.
 */
export async function initWebgpu(tf: typeof tfc, importer: Importer = nativeImport): Promise<void> {
  if (tf.findBackend('webgpu') && tf.getBackend() === 'webgpu') return;
  if (!currentGpu()) {
    const pkg = await importFor<WebgpuPackage>(NAME, 'webgpu', WEBGPU_HINT, importer);
    // tfjs-backend-webgpu tests `instanceof GPUBuffer` and reads GPUBufferUsage from globals
    for (const [k, val] of Object.entries(pkg.globals)) {
      if (!(k in globalThis)) (globalThis as Record<string, unknown>)[k] = val;
    }
    // the real package only (tests inject their own): ask a child process for an adapter first,
    // so that where there is none Dawn's messages stay out of this process's stderr
    if (importer === nativeImport) {
      const { createRequire } = await import('node:module');
      const probe = await probeWebgpuQuietly(createRequire(import.meta.url).resolve('webgpu'));
      if (!probe.adapter) {
        throw new BackendUnavailableError(
          NAME,
          `no WebGPU adapter was found (${probe.reason ?? 'no usable Vulkan device'})`,
          ADAPTER_HINT,
        );
      }
      await quietDawnEnvironment();
    }
    installGpu(pkg.create([]));
  }
  const gpu = currentGpu()!;
  let adapter: GPUAdapter | null;
  try {
    adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  } catch (err) {
    throw new BackendUnavailableError(
      NAME,
      `requesting a WebGPU adapter failed: ${firstLine(err)}`,
      ADAPTER_HINT,
    );
  }
  if (!adapter)
    throw new BackendUnavailableError(
      NAME,
      'no WebGPU adapter was found (no usable Vulkan device)',
      ADAPTER_HINT,
    );
  adapterSeen = await describeAdapter(adapter);

  // where nothing registered 'webgpu' before (a page may import tfjs-backend-webgpu itself, and
  // its own factory then stays, without subgroups), ours does: the same limits, plus subgroups
  const ours = !tf.findBackendFactory('webgpu');
  let mod: { WebGPUBackend?: new (device: GPUDevice, info?: unknown) => tfc.KernelBackend };
  try {
    // a literal specifier, so that bundlers (the device bundle) include it
    mod = (await import('@tensorflow/tfjs-backend-webgpu')) as unknown as typeof mod;
  } catch (err) {
    const missing = isMissingPackage(err, '@tensorflow/tfjs-backend-webgpu');
    throw new BackendUnavailableError(
      NAME,
      missing
        ? '@tensorflow/tfjs-backend-webgpu is not installed'
        : `@tensorflow/tfjs-backend-webgpu failed to load: ${firstLine(err)}`,
      "install it with 'pnpm add @tensorflow/tfjs-backend-webgpu@4.22.0'",
    );
  }
  if (ours) {
    const Backend = mod.WebGPUBackend;
    if (!Backend) throw new BackendUnavailableError(NAME, 'tfjs-backend-webgpu exports no WebGPUBackend');
    // its first import registered its own factory where navigator.gpu existed; not started yet
    if (tf.findBackendFactory('webgpu')) tf.removeBackend('webgpu');
    tf.registerBackend('webgpu', async () => new Backend(await requestDevice(adapter), adapter.info), 3);
  }
  let ok = false;
  try {
    ok = await tf.setBackend('webgpu');
  } catch (err) {
    throw new BackendUnavailableError(NAME, `tfjs's webgpu backend failed to start: ${firstLine(err)}`);
  }
  if (!ok || tf.getBackend() !== 'webgpu') {
    throw new BackendUnavailableError(
      NAME,
      `tfjs's webgpu backend did not start (active backend: ${tf.getBackend()})`,
    );
  }
  const missing = missingInternals(tf.findBackend('webgpu'));
  if (missing.length > 0) {
    throw new BackendUnavailableError(
      NAME,
      `this @tensorflow/tfjs-backend-webgpu lacks what the fused kernels use (${missing.join(', ')})`,
      "install version 4.22.0: 'pnpm add @tensorflow/tfjs-backend-webgpu@4.22.0'",
    );
  }
}

/**
 * The limits tfjs-backend-webgpu asks for (the adapter's own maxima), and subgroups where the
 * adapter has them (the split recurrent kernels use them; nothing else changes).
 */
function requestDevice(adapter: GPUAdapter): Promise<GPUDevice> {
  const l = adapter.limits;
  return adapter.requestDevice({
    requiredFeatures: (adapter.features.has('subgroups') ? ['subgroups'] : []) as unknown as GPUFeatureName[],
    requiredLimits: {
      maxComputeWorkgroupStorageSize: l.maxComputeWorkgroupStorageSize,
      maxComputeWorkgroupsPerDimension: l.maxComputeWorkgroupsPerDimension,
      maxStorageBufferBindingSize: l.maxStorageBufferBindingSize,
      maxBufferSize: l.maxBufferSize,
      maxComputeWorkgroupSizeX: l.maxComputeWorkgroupSizeX,
      maxComputeInvocationsPerWorkgroup: l.maxComputeInvocationsPerWorkgroup,
    },
  });
}
