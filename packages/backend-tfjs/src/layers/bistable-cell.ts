import { Rng, xavierUniform } from '@bistable/core';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';

type LayerArgs = NonNullable<ConstructorParameters<typeof tfl.layers.Layer>[0]>;
type Kwargs = Parameters<InstanceType<typeof tfl.layers.Layer>['call']>[1];

export interface BistableCellArgs extends LayerArgs {
  /** Hidden size H (the state and the output have H units). */
  units: number;
  /** Seeds the initial weights (kernels and nBRC's orthogonal memories); random when absent. */
  seed?: number;
}

export type MemoryInit = (shape: number[], rng: Rng) => tf.Tensor;

/**
 * What BRC and nBRC share (core's cells/brc.ts and cells/nbrc.ts), as a tfjs-layers RNN cell:
 *   z  = σ(x @ kernelz + mz(h) + bz)
 *   a  = tanh(x @ kernelr + mr(h) + br) + 1
 *   h' = z ⊙ h + (1 − z) ⊙ tanh(x @ kernelh + a ⊙ h)
 * where the memory terms mz, mr are h ⊙ memory (BRC, vectors) or h @ memory (nBRC, matrices).
 * The candidate has no bias. Gradients come from tfjs's autodiff.
 */
export abstract class BistableCellBase extends tfl.layers.RNNCell {
  readonly units: number;
  readonly seed: number | undefined;
  stateSize: number;
  protected kernelz!: tfl.LayerVariable;
  protected kernelr!: tfl.LayerVariable;
  protected kernelh!: tfl.LayerVariable;
  protected memoryz!: tfl.LayerVariable;
  protected memoryr!: tfl.LayerVariable;
  protected bz!: tfl.LayerVariable;
  protected br!: tfl.LayerVariable;

  constructor(args: BistableCellArgs) {
    super(args);
    if (!Number.isInteger(args?.units) || args.units <= 0) {
      throw new Error(`${new.target.name}: units must be a positive whole number, got ${args?.units}`);
    }
    this.units = args.units;
    this.seed = args.seed;
    this.stateSize = args.units;
  }

  /** Shape and initial value of the memories. */
  protected abstract memoryWeight(): { shape: number[]; init: MemoryInit };
  /** The memory term of a gate for state h. */
  protected abstract memoryTerm(h: tf.Tensor2D, memory: tf.Tensor): tf.Tensor2D;

  override build(inputShape: tfl.Shape | tfl.Shape[]): void {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tfl.Shape;
    const inputDim = shape[shape.length - 1];
    if (inputDim == null) throw new Error(`${this.getClassName()}: the last input dimension must be known`);
    const H = this.units;
    // weights in torch's named_parameters() order, so setWeights takes brc_pytorch's list as is
    // core's initialisers (torch's), on the host: seeded, and free of tfjs's chained-op methods
    // (tfjs-layers' orthogonal initializer needs them, and tfjs-core alone does not install them)
    const rng = new Rng(this.seed ?? Math.floor(Math.random() * 2 ** 32));
    const weight = (name: string, shape: number[], init: (shape: number[]) => tf.Tensor) => {
      const w = this.addWeight(name, shape, 'float32', tfl.initializers.zeros());
      const value = init(shape);
      w.write(value);
      value.dispose();
      return w;
    };
    const glorot = (shape: number[]) =>
      tf.tensor(Float32Array.from(xavierUniform(shape, rng)), shape, 'float32');
    this.kernelz = weight('kernelz', [inputDim, H], glorot);
    this.kernelr = weight('kernelr', [inputDim, H], glorot);
    this.kernelh = weight('kernelh', [inputDim, H], glorot);
    const mem = this.memoryWeight();
    this.memoryz = weight('memoryz', mem.shape, (shape) => mem.init(shape, rng));
    this.memoryr = weight('memoryr', mem.shape, (shape) => mem.init(shape, rng));
    this.bz = this.addWeight('bz', [H], 'float32', tfl.initializers.zeros());
    this.br = this.addWeight('br', [H], 'float32', tfl.initializers.zeros());
    this.built = true;
  }

  override call(inputs: tf.Tensor | tf.Tensor[], _kwargs: Kwargs): tf.Tensor[] {
    return tf.tidy(() => {
      const list = inputs as tf.Tensor[];
      if (!Array.isArray(list) || list.length !== 2) {
        throw new Error(
          `${this.getClassName()} expects [input, state], got ${Array.isArray(list) ? list.length : 1} tensors`,
        );
      }
      const x = list[0] as tf.Tensor2D;
      const h = list[1] as tf.Tensor2D;
      const gate = (kernel: tfl.LayerVariable, memory: tfl.LayerVariable, bias: tfl.LayerVariable) =>
        tf.add(tf.add(tf.matMul(x, kernel.read()), this.memoryTerm(h, memory.read())), bias.read());
      const z = tf.sigmoid(gate(this.kernelz, this.memoryz, this.bz));
      const a = tf.add(tf.tanh(gate(this.kernelr, this.memoryr, this.br)), 1);
      const n = tf.tanh(tf.add(tf.matMul(x, this.kernelh.read()), tf.mul(a, h)));
      const hNext = tf.add(tf.mul(z, h), tf.mul(tf.sub(1, z), n));
      return [hNext, hNext];
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    const config: tf.serialization.ConfigDict = { ...super.getConfig(), units: this.units };
    if (this.seed !== undefined) config.seed = this.seed;
    return config;
  }
}
