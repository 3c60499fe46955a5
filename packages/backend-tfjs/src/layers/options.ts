import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';

/** A tfjs-layers regularizer (`tf.regularizers.l2({ l2: 1e-4 })`, …). */
export type Regularizer = ReturnType<typeof tfl.regularizers.l1l2>;
/** A tfjs-layers constraint (`tf.constraints.maxNorm({ maxValue: 3 })`, …). */
export type Constraint = ReturnType<typeof tfl.constraints.nonNeg>;
/** A regularizer, its registered name (`'l1l2'`, `'L1L2'`) or its `{ className, config }`. */
export type RegularizerOption = Regularizer | string | tf.serialization.ConfigDict;
/** A constraint, its registered name (`'nonNeg'`, `'maxNorm'`, …) or its `{ className, config }`. */
export type ConstraintOption = Constraint | string | tf.serialization.ConfigDict;

// the short names tfjs-layers' own getRegularizer / getConstraint accept
const REGULARIZER_NAMES: Record<string, string> = { l1l2: 'L1L2' };
const CONSTRAINT_NAMES: Record<string, string> = {
  maxNorm: 'MaxNorm',
  minMaxNorm: 'MinMaxNorm',
  nonNeg: 'NonNeg',
  unitNorm: 'UnitNorm',
};

// tfjs-layers does not export its Regularizer and Constraint base classes; their instances' do
type AnyClass = abstract new (...args: never) => unknown;
let bases: { regularizer: AnyClass; constraint: AnyClass } | undefined;
function baseClasses() {
  bases ??= {
    regularizer: Object.getPrototypeOf(tfl.regularizers.l1l2().constructor),
    constraint: Object.getPrototypeOf(tfl.constraints.nonNeg().constructor),
  };
  return bases;
}

function resolve<T>(
  owner: string,
  option: string,
  value: unknown,
  kind: 'regularizer' | 'constraint',
  names: Record<string, string>,
): T | null {
  if (value == null) return null;
  const base = baseClasses()[kind];
  if (value instanceof base) return value as T;
  let className: string;
  let config: tf.serialization.ConfigDict;
  if (typeof value === 'string') {
    className = names[value] ?? value;
    config = {};
  } else if (
    typeof value === 'object' &&
    !Array.isArray(value) &&
    typeof (value as { className?: unknown }).className === 'string'
  ) {
    className = (value as { className: string }).className;
    config = { ...(((value as { config?: unknown }).config ?? {}) as tf.serialization.ConfigDict) };
  } else {
    throw new Error(
      `${owner}: option '${option}' must be a tfjs ${kind}, its name or its { className, config }; got ${show(value)}`,
    );
  }
  const entry = tf.serialization.SerializationMap.getMap().classNameMap[className];
  const made = entry ? entry[1](entry[0], config) : undefined;
  if (!(made instanceof base)) {
    throw new Error(`${owner}: option '${option}': '${className}' is not a registered tfjs ${kind}`);
  }
  return made as T;
}

export const toRegularizer = (owner: string, option: string, value: unknown) =>
  resolve<Regularizer>(owner, option, value, 'regularizer', REGULARIZER_NAMES);
export const toConstraint = (owner: string, option: string, value: unknown) =>
  resolve<Constraint>(owner, option, value, 'constraint', CONSTRAINT_NAMES);

/** `{ className, config }`, as tfjs-layers' serializeRegularizer / serializeConstraint write it. */
export function serialize(value: Regularizer | Constraint | null): tf.serialization.ConfigDict | null {
  return value == null ? null : { className: value.getClassName(), config: value.getConfig() };
}

export function show(value: unknown): string {
  if (typeof value === 'function') return 'a function';
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

/** A dropout rate: a number in [0, 1). */
export function toRate(owner: string, option: string, value: unknown): number {
  if (value == null) return 0;
  if (typeof value !== 'number' || !(value >= 0 && value < 1)) {
    throw new Error(`${owner}: option '${option}' must be a number in [0, 1), got ${show(value)}`);
  }
  return value;
}

/**
 * tfjs RNN / GRU options the bistable cells and layers do not have. Each is refused by name
 * rather than ignored; `isSet` says which values would change something.
 */
const FIXED_NONLINEARITIES =
  "the cell's nonlinearities are fixed (σ for the update gate z, 1 + tanh for the bistability gate a, tanh for the candidate)";
const FIXED_INIT =
  "initial weights follow brc_pytorch (Xavier-uniform kernels, memories ones (BRC) or orthogonal (nBRC), biases zero): pass 'seed' for reproducible ones, or call setWeights after building";
const UNSUPPORTED: Record<string, { isSet: (v: unknown) => boolean; why: string }> = {
  activation: { isSet: (v) => v != null, why: FIXED_NONLINEARITIES },
  recurrentActivation: { isSet: (v) => v != null, why: FIXED_NONLINEARITIES },
  useBias: {
    isSet: (v) => v != null && v !== true,
    why: 'the gates always have their biases bz and br (the candidate has none)',
  },
  kernelInitializer: { isSet: (v) => v != null, why: FIXED_INIT },
  recurrentInitializer: { isSet: (v) => v != null, why: FIXED_INIT },
  biasInitializer: { isSet: (v) => v != null, why: FIXED_INIT },
  implementation: { isSet: (v) => v != null, why: 'there is one implementation' },
  resetAfter: {
    isSet: (v) => v != null && v !== false,
    why: 'it is a GRU option (BRC and nBRC have no reset gate)',
  },
  dtype: { isSet: (v) => v != null && v !== 'float32', why: 'the cells compute in float32' },
};
/** Options of the RNN layer only (tf.layers.rnn's, which the layers build themselves). */
const UNSUPPORTED_IN_LAYER: typeof UNSUPPORTED = {
  unroll: {
    isSet: (v) => v != null && v !== false,
    why: "tfjs-layers' RNN always loops over time imperatively and ignores it",
  },
  cell: {
    isSet: (v) => v != null,
    why: 'the layer builds its own cell; for a cell of your own use tf.layers.rnn({ cell })',
  },
};

export function rejectUnsupported(owner: string, args: object, layer: boolean): void {
  const table = layer ? { ...UNSUPPORTED, ...UNSUPPORTED_IN_LAYER } : UNSUPPORTED;
  for (const [option, { isSet, why }] of Object.entries(table)) {
    const value = (args as Record<string, unknown>)[option];
    if (isSet(value)) {
      throw new Error(`${owner}: option '${option}' is not supported (got ${show(value)}): ${why}`);
    }
  }
}
