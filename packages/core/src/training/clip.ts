import { InputError } from '../backend/errors.js';
import type { Backend, HostArray } from '../backend/types.js';
import type { Optimizer, ParameterSource } from '../optim/optimizer.js';

/** Gradient clipping, as `fit` and `clipGradients` take it. */
export interface ClipOptions {
  /**
   * Rescales all gradients together when their global L2 norm exceeds this, to exactly this norm
   * (torch's clip_grad_norm_, without its 1e-6 in the divisor, so the clipped norm is clipNorm).
   */
  clipNorm?: number;
  /** Clamps every gradient element to [−clipValue, clipValue] (torch's clip_grad_value_), after clipNorm. */
  clipValue?: number;
}

/** The gradients' norm before clipping, and whether clipping changed them. */
export interface ClipResult {
  /** The global L2 norm of all gradients before clipping. */
  norm: number;
  /** Whether any gradient was changed. */
  clipped: boolean;
}

export function checkClipOptions(o: ClipOptions): void {
  for (const k of ['clipNorm', 'clipValue'] as const) {
    const v = o[k];
    if (v !== undefined && (typeof v !== 'number' || !Number.isFinite(v) || v <= 0)) {
      throw new InputError(`${k} must be a positive finite number, got ${String(v)}`);
    }
  }
}

/**
 * Clips the gradients of every parameter of `sources` in place, on the host: one read and, when
 * anything changed, one write per gradient buffer. Backends have no reduction kernel to compute
 * a norm on the device, and the round trip is small next to a training step's own reads. The norm
 * is summed in float64 whatever the dtype; a non-finite norm leaves clipNorm's scaling out
 * (scaling by NaN would only spread it), as torch does with error_if_nonfinite off.
 */
export async function clipGradients(
  backend: Backend,
  sources: ParameterSource[],
  options: ClipOptions,
): Promise<ClipResult> {
  return gradientClipper(backend, sources, options)();
}

/**
 * clipGradients for repeated use: the options are checked, the gradient list made and the host
 * buffers allocated once, so clipping every training step allocates nothing.
 */
function gradientClipper(
  backend: Backend,
  sources: ParameterSource[],
  options: ClipOptions,
): () => Promise<ClipResult> {
  checkClipOptions(options);
  const { clipNorm, clipValue } = options;
  const grads = sources.flatMap((s) => s.parameters().map((p) => p.grad));
  const host: HostArray[] = grads.map((g) =>
    g.dtype === 'float64' ? new Float64Array(g.length) : new Float32Array(g.length),
  );
  const changed = new Uint8Array(grads.length);
  return async () => {
    await Promise.all(grads.map((g, k) => backend.read(g, 0, g.length, host[k])));
    let sumSq = 0;
    for (const g of host) for (let i = 0; i < g.length; i++) sumSq += g[i] * g[i];
    const norm = Math.sqrt(sumSq);
    changed.fill(0);
    if (clipNorm !== undefined && norm > clipNorm) {
      const scale = clipNorm / norm;
      for (const [k, g] of host.entries()) {
        for (let i = 0; i < g.length; i++) g[i] *= scale;
        changed[k] = 1;
      }
    }
    if (clipValue !== undefined) {
      for (const [k, g] of host.entries()) {
        for (let i = 0; i < g.length; i++) {
          if (g[i] > clipValue) g[i] = clipValue;
          else if (g[i] < -clipValue) g[i] = -clipValue;
          else continue;
          changed[k] = 1;
        }
      }
    }
    for (const [k, g] of host.entries()) if (changed[k]) backend.write(grads[k], g);
    return { norm, clipped: changed.includes(1) };
  };
}

/**
 * `optimizer` with the gradients clipped before each of its steps. A model's trainStep calls
 * `step()` between the backward and the update, exactly where clipping belongs, so every backend
 * path of trainStep (micro-batches, a device loss gradient) clips without knowing of it.
 */
export function clippingOptimizer(
  optimizer: Optimizer,
  sources: ParameterSource[],
  options: ClipOptions,
): Optimizer & { lastClip: ClipResult | null } {
  const clip = gradientClipper(optimizer.backend, sources, options);
  const wrapper = {
    lastClip: null as ClipResult | null,
    backend: optimizer.backend,
    get lr() {
      return optimizer.lr;
    },
    setLearningRate: optimizer.setLearningRate && ((lr: number) => optimizer.setLearningRate?.(lr)),
    async step() {
      wrapper.lastClip = await clip();
      await optimizer.step();
    },
    state: () => optimizer.state(),
    loadState: (s: Parameters<Optimizer['loadState']>[0]) => optimizer.loadState(s),
    dispose: () => optimizer.dispose(),
  };
  return wrapper;
}
