import { InputError } from '../backend/errors.js';
import type { HostTensor } from './named.js';
import type { TensorLike } from './validate.js';

/**
 * A tensor from another library that holds its values on the host or can fetch them
 * synchronously: a tf.Tensor (tfjs) is one. Core depends on no such library, so it knows them only
 * by this shape and converts them through a registered adapter.
 */
export interface ForeignTensor {
  readonly shape: readonly number[];
  dataSync(): ArrayLike<number>;
}

/** What the public API takes: core's own `{shape, data}` or a foreign tensor. */
export type TensorInput = TensorLike | ForeignTensor;

/** What a method returns for an input of type X: core's host tensor, or X's own kind. */
export type TensorOutput<X> = X extends TensorLike ? HostTensor : X extends ForeignTensor ? X : HostTensor;

/**
 * Converts between core's host tensors and another library's. `@bistable/backend-tfjs` registers
 * one for tf.Tensor when it is imported.
 */
export interface TensorAdapter {
  /** Library name, for messages. */
  readonly name: string;
  matches(x: unknown): boolean;
  /** A new tensor of the library holding `t`'s values; the caller owns (and disposes) it. */
  fromHost(t: HostTensor): ForeignTensor;
}

const adapters: TensorAdapter[] = [];

/** Registers an adapter; registering one of the same name again replaces it. */
export function registerTensorAdapter(adapter: TensorAdapter): void {
  const i = adapters.findIndex((a) => a.name === adapter.name);
  if (i >= 0) adapters[i] = adapter;
  else adapters.push(adapter);
}

/** Whether `x` is another library's tensor (a tf.Tensor): it has a shape and `dataSync()`. */
export function isForeignTensor(x: unknown): x is ForeignTensor {
  return (
    typeof x === 'object' &&
    x !== null &&
    typeof (x as ForeignTensor).dataSync === 'function' &&
    Array.isArray((x as ForeignTensor).shape)
  );
}

function adapterFor(name: string, x: ForeignTensor): TensorAdapter {
  const a = adapters.find((ad) => ad.matches(x));
  if (!a) {
    throw new InputError(
      `${name} is a foreign tensor (it has dataSync()) and no adapter for it is registered: import '@bistable/backend-tfjs' for tf.Tensor, or pass {shape, data}`,
    );
  }
  return a;
}

/**
 * `x` as core's `{shape, data}`: a foreign tensor's values are copied out (tfjs: `dataSync()`),
 * anything else is returned as is, for `checkTensor` to judge.
 */
export function hostView(name: string, x: TensorInput | undefined | null): TensorLike {
  if (!isForeignTensor(x)) return x as TensorLike;
  adapterFor(name, x);
  const dtype = (x as { dtype?: unknown }).dtype;
  if (typeof dtype === 'string' && !['float32', 'int32', 'bool'].includes(dtype)) {
    throw new InputError(`${name} has dtype ${dtype}; bistable takes numeric tensors`);
  }
  return { shape: [...x.shape], data: x.dataSync() };
}

/** `out` in the kind of tensor `like` is: a new foreign tensor when `like` is one. */
export function returnLike<X>(like: X, out: HostTensor): TensorOutput<X> {
  if (!isForeignTensor(like)) return out as TensorOutput<X>;
  return adapterFor('input', like).fromHost(out) as TensorOutput<X>;
}
