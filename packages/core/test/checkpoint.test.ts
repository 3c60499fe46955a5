import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assemble, splitContainer } from '../src/checkpoint/safetensors.js';
import {
  Adam,
  type Backend,
  type CellName,
  type Checkpoint,
  type DType,
  decodeCheckpoint,
  encodeCheckpoint,
  getBackend,
  InputError,
  loadCheckpoint,
  MultiLayerRNN,
  Rng,
  readCheckpoint,
  SequenceModel,
  SGD,
  saveCheckpoint,
  sha256Hex,
  writeFileAtomic,
} from '../src/index.js';
import { randn, sameBits } from './helpers.js';

let be: Backend;
let dir: string;
beforeAll(async () => {
  be = await getBackend('reference');
  dir = await mkdtemp(join(tmpdir(), 'bistable-ckpt-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const B = 3;
const T = 5;

function makeModel(
  cell: CellName,
  dtype: DType,
  seed: number,
  over: Partial<ConstructorParameters<typeof SequenceModel>[1]> = {},
) {
  return new SequenceModel(be, {
    cell,
    inputSize: 2,
    hiddenSize: 4,
    numLayers: 2,
    bidirectional: cell === 'BRC',
    readout: 'last',
    loss: 'mse',
    dtype,
    seed,
    ...over,
  });
}

function batch(seed: number) {
  const rng = new Rng(seed);
  return { x: randn(rng, [B, T, 2]), y: randn(rng, [B, 1]) };
}

async function train(model: SequenceModel, opt: { step(): Promise<void> }, steps: number, seed: number) {
  const losses: number[] = [];
  for (let s = 0; s < steps; s++) {
    const { x, y } = batch(seed + s);
    losses.push((await model.lossAndGradients(x, y)).loss);
    await opt.step();
  }
  return losses;
}

async function expectSameParams(a: SequenceModel | MultiLayerRNN, b: SequenceModel | MultiLayerRNN) {
  const pa = await a.getParameters();
  const pb = await b.getParameters();
  expect(Object.keys(pb)).toEqual(Object.keys(pa));
  for (const k of Object.keys(pa)) {
    expect(pb[k].shape, k).toEqual(pa[k].shape);
    expect(sameBits(pb[k].data, pa[k].data), `${k} differs`).toBe(true);
  }
}

/** The message of the InputError `fn` throws (fails when it throws anything else). */
async function inputError(fn: () => unknown): Promise<string> {
  try {
    await fn();
  } catch (err) {
    expect(err).toBeInstanceOf(InputError);
    const msg = (err as Error).message;
    expect(msg).not.toContain('\n');
    return msg;
  }
  throw new Error('expected an InputError, nothing was thrown');
}

/** Re-encodes a checkpoint file after editing its JSON header (the data section is kept). */
function editHeader(
  bytes: Uint8Array,
  edit: (h: Record<string, Record<string, unknown>>) => void,
): Uint8Array {
  const { header, data } = splitContainer(bytes);
  edit(header as Record<string, Record<string, unknown>>);
  return assemble(header, data);
}

describe('sha256Hex', () => {
  it('matches node:crypto on the FIPS examples and on random inputs around block boundaries', () => {
    const node = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
    expect(sha256Hex(new Uint8Array(0))).toBe(
      'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
    );
    expect(sha256Hex(new TextEncoder().encode('abc'))).toBe(
      'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
    );
    for (const n of [55, 56, 57, 63, 64, 65, 119, 120, 128, 1000]) {
      const b = Uint8Array.from({ length: n }, (_, i) => (i * 37 + n) & 255);
      expect(sha256Hex(b), `length ${n}`).toBe(node(b));
    }
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (b) => sha256Hex(b) === node(b)),
      { numRuns: 100, seed: 7 },
    );
  });
});

describe('checkpoint round trip', () => {
  for (const [cell, dtype] of [
    ['BRC', 'float64'],
    ['LSTM', 'float32'],
    ['nBRC', 'float32'],
    ['GRU', 'float64'],
  ] as [CellName, DType][]) {
    it(`${cell} ${dtype}: parameters and Adam state come back bit-identical, and training continues identically`, async () => {
      const model = makeModel(cell, dtype, 11);
      const opt = new Adam(be, [model], { lr: 0.01 });
      await train(model, opt, 3, 100);
      const path = join(dir, `${cell}-${dtype}.safetensors`);
      await saveCheckpoint(path, model, opt, { epoch: 3, note: 'round trip' });

      // a fresh model from another seed, so that nothing matches unless the load works
      const other = makeModel(cell, dtype, 999);
      const otherOpt = new Adam(be, [other], { lr: 0.01 });
      const c = await loadCheckpoint(path, other, otherOpt);
      expect(c.extra).toEqual({ epoch: 3, note: 'round trip' });
      expect(c.optimizer?.step).toBe(3);
      expect(otherOpt.stepCount).toBe(3);
      await expectSameParams(other, model);
      const [sa, sb] = [await opt.state(), await otherOpt.state()];
      expect(Object.keys(sb.slots)).toEqual(Object.keys(sa.slots));
      for (const k of Object.keys(sa.slots)) expect(sameBits(sb.slots[k], sa.slots[k]), k).toBe(true);

      const lossA = await train(model, opt, 3, 200);
      const lossB = await train(other, otherOpt, 3, 200);
      expect(lossB).toEqual(lossA);
      await expectSameParams(other, model);
    });
  }

  it('encoding is deterministic and decode(encode(c)) re-encodes to the same bytes', async () => {
    const model = makeModel('nBRC', 'float64', 3);
    const opt = new Adam(be, [model]);
    await train(model, opt, 1, 5);
    const c: Checkpoint = {
      model: (await readBack(model, opt)).model,
      params: await model.getParameters(),
      optimizer: await opt.state(),
      extra: { a: [1, 2] },
    };
    const bytes = encodeCheckpoint(c);
    expect(encodeCheckpoint(c)).toEqual(bytes);
    const d = decodeCheckpoint(bytes);
    expect(encodeCheckpoint(d)).toEqual(bytes);
    for (const [k, t] of Object.entries(c.params)) expect(sameBits(d.params[k].data, t.data), k).toBe(true);
  });

  it('a bare MultiLayerRNN round-trips with its own parameter names', async () => {
    const opts = {
      cell: 'LSTM' as const,
      inputSize: 3,
      hiddenSize: 2,
      numLayers: 2,
      bidirectional: true,
      dtype: 'float64' as const,
    };
    const rnn = new MultiLayerRNN(be, { ...opts, seed: 1 });
    const opt = new SGD(be, [rnn], { lr: 0.1, momentum: 0.9 });
    const x = randn(new Rng(4), [2, 3, 3]);
    await rnn.forward(x);
    await rnn.backward({ output: randn(new Rng(5), [2, 3, 4]) });
    await opt.step();
    const path = join(dir, 'rnn.safetensors');
    await saveCheckpoint(path, rnn, opt);
    const c = await readCheckpoint(path);
    expect(c.model.kind).toBe('MultiLayerRNN');
    expect(Object.keys(c.params)).toContain('cells.3.weight_hh');
    expect(Object.keys(c.optimizer!.slots)).toContain('cells.0.wx.momentum');
    const other = new MultiLayerRNN(be, { ...opts, seed: 2, batchFirst: false });
    const otherOpt = new SGD(be, [other], { lr: 0.1, momentum: 0.9 });
    await loadCheckpoint(path, other, otherOpt);
    await expectSameParams(other, rnn);
    // momentum continues from the saved buffer, not from a fresh first step
    for (const [r, o] of [
      [rnn, opt],
      [other, otherOpt],
    ] as const) {
      await r.forward(r === rnn ? x : { shape: [3, 2, 3], data: transposeBT(x) });
      await r.backward({ hN: randn(new Rng(6), [4, 2, 2]) });
      await o.step();
    }
    await expectSameParams(other, rnn);
  });

  it('the file is a plain safetensors file: documented header, string metadata, data tiling the rest', async () => {
    const model = makeModel('GRU', 'float32', 1, { numLayers: 1 });
    const path = join(dir, 'layout.safetensors');
    await saveCheckpoint(path, model);
    const bytes = new Uint8Array(await readFile(path));
    const n = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
    expect(n % 8).toBe(0);
    const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n)));
    const meta = header.__metadata__;
    expect(meta.format).toBe('bistable-checkpoint');
    expect(meta.version).toBe('1');
    for (const v of Object.values(meta)) expect(typeof v).toBe('string');
    expect(JSON.parse(meta.model)).toMatchObject({
      kind: 'SequenceModel',
      cell: 'GRU',
      hiddenSize: 4,
      dtype: 'float32',
    });
    expect(meta.sha256).toBe(
      createHash('sha256')
        .update(bytes.subarray(8 + n))
        .digest('hex'),
    );
    const w = header['rnn.cells.0.weight_ih'];
    expect(w.dtype).toBe('F32');
    expect(w.shape).toEqual([12, 2]);
    const params = await model.getParameters();
    const view = new DataView(bytes.buffer, bytes.byteOffset + 8 + n + w.data_offsets[0]);
    for (let i = 0; i < 24; i++)
      expect(view.getFloat32(4 * i, true)).toBe(params['rnn.cells.0.weight_ih'].data[i]);
    const ends = Object.entries(header)
      .filter(([k]) => k !== '__metadata__')
      .map(([, e]) => (e as { data_offsets: number[] }).data_offsets[1]);
    expect(Math.max(...ends)).toBe(bytes.length - 8 - n);
  });
});

async function readBack(model: SequenceModel, opt: Adam): Promise<Checkpoint> {
  const path = join(dir, `tmp-${Math.random()}.safetensors`);
  await saveCheckpoint(path, model, opt);
  return readCheckpoint(path);
}

function transposeBT(x: { shape: number[]; data: Float64Array }): Float64Array {
  const [Bn, Tn, F] = x.shape;
  const out = new Float64Array(x.data.length);
  for (let b = 0; b < Bn; b++)
    for (let t = 0; t < Tn; t++)
      for (let f = 0; f < F; f++) out[(t * Bn + b) * F + f] = x.data[(b * Tn + t) * F + f];
  return out;
}

describe('damaged or foreign files give one clear line', () => {
  let good: Uint8Array;
  let path: string;
  beforeAll(async () => {
    const model = makeModel('BRC', 'float64', 2);
    path = join(dir, 'good.safetensors');
    await saveCheckpoint(path, model, new Adam(be, [model]));
    good = new Uint8Array(await readFile(path));
  });
  const dataStart = () => 8 + Number(new DataView(good.buffer, good.byteOffset).getBigUint64(0, true));

  it('a flipped bit in the data section fails the checksum', async () => {
    for (const at of [dataStart(), dataStart() + 101, good.length - 1]) {
      const bad = good.slice();
      bad[at] ^= 0x10;
      const p = join(dir, 'flipped.safetensors');
      await writeFile(p, bad);
      const msg = await inputError(() => readCheckpoint(p));
      expect(msg).toMatch(/checkpoint '.*flipped\.safetensors': .*checksum/);
    }
  });

  it('a truncated file says so, wherever it is cut', async () => {
    for (const len of [0, 5, 8, 40, dataStart(), dataStart() + 13, good.length - 1]) {
      const msg = await inputError(() => decodeCheckpoint(good.subarray(0, len)));
      expect(msg, `cut at ${len}`).toMatch(/truncated|too short/);
    }
  });

  it('random bytes and foreign files are "not a bistable checkpoint"', async () => {
    const rng = new Rng(1);
    for (const n of [3, 64, 4096]) {
      const junk = Uint8Array.from({ length: n }, () => rng.int(0, 256));
      expect(await inputError(() => decodeCheckpoint(junk))).toMatch(/not a bistable checkpoint/);
    }
    const json = new TextEncoder().encode('{"hello": "world"}');
    expect(await inputError(() => decodeCheckpoint(json))).toMatch(/not a bistable checkpoint/);
    const foreign = editHeader(good, (h) => {
      h.__metadata__ = { format: 'pt' };
    });
    expect(await inputError(() => decodeCheckpoint(foreign))).toMatch(/not a bistable checkpoint/);
    const missing = join(dir, 'nope.safetensors');
    expect(await inputError(() => readCheckpoint(missing))).toMatch(/nope\.safetensors' does not exist/);
    expect(await inputError(() => readCheckpoint(dir))).toMatch(/is a directory/);
  });

  it('an unsupported version, dtype or shape is named', async () => {
    const v2 = editHeader(good, (h) => {
      h.__metadata__.version = '2';
    });
    expect(await inputError(() => decodeCheckpoint(v2))).toMatch(
      /unsupported checkpoint version "2".*reads version 1/,
    );
    const f16 = editHeader(good, (h) => {
      h['rnn.cells.0.kernelz'].dtype = 'F16';
    });
    expect(await inputError(() => decodeCheckpoint(f16))).toMatch(/'rnn.cells.0.kernelz' has dtype "F16"/);
    const f32 = editHeader(good, (h) => {
      const model = JSON.parse(h.__metadata__.model as string);
      h.__metadata__.model = JSON.stringify({ ...model, dtype: 'float32' });
    });
    expect(await inputError(() => decodeCheckpoint(f32))).toMatch(
      /is F64 but the checkpoint's model is float32/,
    );
    const badSize = editHeader(good, (h) => {
      h['rnn.cells.0.kernelz'].shape = [2, 5];
    });
    expect(await inputError(() => decodeCheckpoint(badSize))).toMatch(
      /'rnn.cells.0.kernelz' declares shape \[2, 5\]/,
    );
    // same byte count, wrong layout: decodes, but the model refuses it and stays untouched
    const transposed = editHeader(good, (h) => {
      h['rnn.cells.0.kernelz'].shape = [4, 2];
    });
    const p = join(dir, 'transposed.safetensors');
    await writeFile(p, transposed);
    const model = makeModel('BRC', 'float64', 77);
    const before = await model.getParameters();
    expect(await inputError(() => loadCheckpoint(p, model))).toMatch(
      /'rnn.cells.0.kernelz' has shape \[4, 2\], the model expects \[2, 4\]/,
    );
    const after = await model.getParameters();
    for (const k of Object.keys(before)) expect(sameBits(after[k].data, before[k].data), k).toBe(true);
  });

  it('a checkpoint of another configuration names every mismatch and leaves the model untouched', async () => {
    const model = makeModel('BRC', 'float64', 5, { hiddenSize: 5 });
    const before = await model.getParameters();
    const msg = await inputError(() => loadCheckpoint(path, model));
    expect(msg).toMatch(
      /good\.safetensors': saved from a different model: hiddenSize is 4 in the checkpoint but 5 in the model$/,
    );
    const after = await model.getParameters();
    for (const k of Object.keys(before)) expect(sameBits(after[k].data, before[k].data), k).toBe(true);

    const many = makeModel('GRU', 'float32', 5, { bidirectional: false, numLayers: 1 });
    const m2 = await inputError(() => loadCheckpoint(path, many));
    for (const want of [
      'cell is "BRC" in the checkpoint but "GRU"',
      'numLayers is 2',
      'bidirectional is true',
      'dtype is "float64"',
    ]) {
      expect(m2).toContain(want);
    }
    const rnn = new MultiLayerRNN(be, { cell: 'BRC', inputSize: 2, hiddenSize: 4 });
    expect(await inputError(() => loadCheckpoint(path, rnn))).toMatch(
      /holds a SequenceModel, not a MultiLayerRNN/,
    );
  });

  it('optimizer state must be present and of the same kind', async () => {
    const model = makeModel('BRC', 'float64', 5);
    const sgd = new SGD(be, [model], { lr: 0.1 });
    expect(await inputError(() => loadCheckpoint(path, model, sgd))).toMatch(
      /optimizer state is 'adam', the optimizer is 'sgd'/,
    );
    const bare = join(dir, 'no-optim.safetensors');
    await saveCheckpoint(bare, model);
    expect(await inputError(() => loadCheckpoint(bare, model, new Adam(be, [model])))).toMatch(
      /no optimizer state was saved/,
    );
    // an optimiser over a different set of parameters
    const rnnOnly = new Adam(be, [model.rnn]);
    expect(await inputError(() => loadCheckpoint(path, model, rnnOnly))).toMatch(
      /missing optimizer slot 'cells.0.wx.m'/,
    );
  });

  it('extra data must be JSON', async () => {
    const model = makeModel('BRC', 'float64', 5);
    expect(
      await inputError(() => saveCheckpoint(join(dir, 'x.safetensors'), model, undefined, { big: 1n })),
    ).toMatch(/not JSON-serialisable/);
  });
});

describe('atomic writes', () => {
  it('leaves only the target behind, and concurrent writers never interleave', async () => {
    const sub = await mkdtemp(join(dir, 'atomic-'));
    const target = join(sub, 'model.safetensors');
    const models = [1, 2, 3, 4].map((s) => makeModel('nBRC', 'float32', s));
    await Promise.all(models.map((m) => saveCheckpoint(target, m)));
    expect(await readdir(sub)).toEqual(['model.safetensors']);
    const c = await readCheckpoint(target);
    const seeds = await Promise.all(models.map(async (m) => (await m.getParameters())['fc.weight'].data[0]));
    expect(seeds).toContain(c.params['fc.weight'].data[0]);
  });

  it('a failed write keeps the old file and removes its temporary file', async () => {
    const sub = await mkdtemp(join(dir, 'atomic-fail-'));
    const target = join(sub, 'out.bin');
    await writeFileAtomic(target, 'old content');
    // renaming a file over a non-empty directory fails after the data is written
    const blocker = join(sub, 'blocker');
    await mkdir(join(blocker, 'inner'), { recursive: true });
    expect(await inputError(() => writeFileAtomic(blocker, 'new content'))).toMatch(
      /cannot write '.*blocker'/,
    );
    expect((await readdir(sub)).sort()).toEqual(['blocker', 'out.bin']);
    expect(await readFile(target, 'utf8')).toBe('old content');
    expect(await inputError(() => writeFileAtomic(join(sub, 'no', 'such', 'dir.bin'), 'x'))).toMatch(
      /directory does not exist/,
    );
  });
});
