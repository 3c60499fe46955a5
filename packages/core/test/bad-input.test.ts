import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  type Backend,
  BackendUnavailableError,
  type CellName,
  type DType,
  getBackend,
  InputError,
  MultiLayerRNN,
  SequenceModel,
} from '../src/index.js';
import { bundledGoldenPath, loadGolden, parseGolden } from '../src/testing/index.js';

const be = await getBackend('reference');

/** Runs fn and returns the InputError's message, checking it is one line. */
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

const lstm = () => new MultiLayerRNN(be, { cell: 'LSTM', inputSize: 3, hiddenSize: 2, numLayers: 2 });
const brc = () => new MultiLayerRNN(be, { cell: 'BRC', inputSize: 3, hiddenSize: 2 });
const zeros = (shape: number[]) => ({ shape, data: new Float64Array(shape.reduce((a, b) => a * b, 1)) });

describe('inputs', () => {
  it('wrong input shapes are named', async () => {
    expect(await inputError(() => brc().forward(zeros([2, 5, 4])))).toBe(
      'input has shape [2, 5, 4], expected [?, ?, 3]',
    );
    expect(await inputError(() => brc().forward(zeros([10, 3])))).toMatch(/input has shape \[10, 3\]/);
    expect(await inputError(() => brc().forward({ shape: [2, 5, 3], data: new Float64Array(29) }))).toMatch(
      /input has 29 values but its shape \[2, 5, 3\] needs 30/,
    );
    expect(await inputError(() => brc().forward(zeros([0, 5, 3])))).toMatch(/empty dimension/);
    expect(await inputError(() => brc().forward(undefined as never))).toMatch(/input must be a tensor/);
  });

  it('NaN and Infinity in the input are refused with their position', async () => {
    for (const bad of [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]) {
      const x = zeros([2, 5, 3]);
      x.data[17] = bad;
      expect(await inputError(() => brc().forward(x))).toBe(
        `input holds a non-finite value (${bad}) at flat index 17`,
      );
    }
  });

  it('wrong initial states are named', async () => {
    const x = zeros([2, 5, 3]);
    expect(await inputError(() => lstm().forward(x, { h: zeros([2, 2, 3]) }))).toMatch(
      /initial state h has shape \[2, 2, 3\], expected \[2, 2, 2\]/,
    );
    expect(await inputError(() => lstm().forward(x, { h: zeros([2, 2, 2]), c: zeros([1, 2, 2]) }))).toMatch(
      /initial state c has shape/,
    );
    expect(await inputError(() => brc().forward(x, { h: zeros([1, 2, 2]), c: zeros([1, 2, 2]) }))).toMatch(
      /BRC has no cell state/,
    );
    const h = zeros([1, 2, 2]);
    h.data[0] = Number.NaN;
    expect(await inputError(() => brc().forward(x, { h }))).toMatch(
      /initial state h holds a non-finite value/,
    );
  });

  it('gradients of the wrong shape are named', async () => {
    const rnn = brc();
    await rnn.forward(zeros([2, 5, 3]));
    expect(await inputError(() => rnn.backward({ output: zeros([2, 5, 3]) }))).toMatch(
      /gradient on output has shape/,
    );
    expect(await inputError(() => rnn.backward({ hN: zeros([2, 2, 2]) }))).toMatch(
      /gradient on hN has shape/,
    );
  });
});

describe('configuration', () => {
  it('an unknown cell name lists the known ones', async () => {
    expect(
      await inputError(() => new MultiLayerRNN(be, { cell: 'RNN' as CellName, inputSize: 1, hiddenSize: 1 })),
    ).toBe("unknown cell 'RNN'; expected one of BRC, nBRC, GRU, LSTM");
  });

  it('sizes must be positive integers', async () => {
    for (const [key, v] of [
      ['inputSize', 0],
      ['hiddenSize', 1.5],
      ['numLayers', -1],
    ] as const) {
      const opts = { cell: 'GRU' as const, inputSize: 2, hiddenSize: 2, numLayers: 1, [key]: v };
      expect(await inputError(() => new MultiLayerRNN(be, opts))).toBe(
        `${key} must be a positive integer, got ${v}`,
      );
    }
  });

  it('an unsupported dtype names what the backend supports', async () => {
    const only32: Backend = Object.assign(Object.create(Object.getPrototypeOf(be)), be, {
      dtypes: ['float32'],
    });
    expect(
      await inputError(
        () => new MultiLayerRNN(only32, { cell: 'GRU', inputSize: 1, hiddenSize: 1, dtype: 'float64' }),
      ),
    ).toBe("backend 'reference' does not support float64; it supports float32");
    expect(
      await inputError(
        () => new MultiLayerRNN(be, { cell: 'GRU', inputSize: 1, hiddenSize: 1, dtype: 'float16' as DType }),
      ),
    ).toMatch(/does not support float16/);
  });

  it('SequenceModel refuses unknown readouts and losses, and targets that do not fit', async () => {
    const opts = {
      cell: 'GRU' as const,
      inputSize: 1,
      hiddenSize: 2,
      readout: 'last' as const,
      loss: 'bce' as const,
    };
    expect(await inputError(() => new SequenceModel(be, { ...opts, readout: 'all' as never }))).toMatch(
      /unknown readout 'all'/,
    );
    expect(await inputError(() => new SequenceModel(be, { ...opts, loss: 'l1' as never }))).toMatch(
      /unknown loss 'l1'/,
    );
    const m = new SequenceModel(be, opts);
    const x = zeros([2, 3, 1]);
    expect(await inputError(() => m.lossAndGradients(x, zeros([2, 3])))).toMatch(
      /target has shape \[2, 3\], expected \[2, 1\]/,
    );
    expect(await inputError(() => m.lossAndGradients(x, { shape: [2, 1], data: [0, 2] }))).toMatch(
      /BCE: target 2 at index 1 is outside \[0, 1\]/,
    );
  });
});

describe('backends', () => {
  it('an unknown backend name lists the registered ones', async () => {
    expect(await inputError(() => getBackend('nope'))).toBe(
      "unknown backend 'nope'; registered: cpu, reference",
    );
  });

  it('a catalogued backend whose package is not loaded says how to get it', async () => {
    const err = await getBackend('tfjs-cpu').then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(BackendUnavailableError);
    expect((err as BackendUnavailableError).backendName).toBe('tfjs-cpu');
    expect((err as Error).message).toBe(
      "backend 'tfjs-cpu' is not available: its package @bistable/backend-tfjs is not loaded (install it with 'pnpm add @bistable/backend-tfjs' and import it)",
    );
  });
});

describe('setParameters', () => {
  const fresh = async () => {
    const rnn = brc();
    return { rnn, named: await rnn.getParameters() };
  };

  it('a missing parameter is named', async () => {
    const { rnn, named } = await fresh();
    delete (named as Record<string, unknown>)['cells.0.memoryr'];
    expect(await inputError(() => rnn.setParameters(named))).toBe("missing parameter 'cells.0.memoryr'");
  });

  it('a misshaped parameter is named with both shapes', async () => {
    const { rnn, named } = await fresh();
    named['cells.0.kernelz'] = { shape: [2, 3], data: named['cells.0.kernelz'].data };
    expect(await inputError(() => rnn.setParameters(named))).toBe(
      "parameter 'cells.0.kernelz' has shape [2, 3], expected [3, 2]",
    );
  });

  it('a NaN parameter is refused', async () => {
    const { rnn, named } = await fresh();
    named['cells.0.bz'].data[1] = Number.NaN;
    expect(await inputError(() => rnn.setParameters(named))).toBe(
      "parameter 'cells.0.bz' holds a non-finite value (NaN)",
    );
  });

  it('an unknown parameter is named', async () => {
    const { rnn, named } = await fresh();
    expect(
      await inputError(() => rnn.setParameters({ ...named, 'cells.1.kernelz': named['cells.0.kernelz'] })),
    ).toMatch(/unknown parameter 'cells.1.kernelz' for a 1-layer BRC/);
    const m = new SequenceModel(be, {
      cell: 'BRC',
      inputSize: 1,
      hiddenSize: 2,
      readout: 'last',
      loss: 'mse',
    });
    expect(await inputError(() => m.setParameters({ 'head.weight': zeros([1, 2]) }))).toMatch(
      /unknown parameter 'head.weight'/,
    );
  });
});

describe('golden files', () => {
  it('parseGolden names the path of the first problem', async () => {
    const golden = await loadGolden(bundledGoldenPath());
    expect(await inputError(() => parseGolden([]))).toMatch(/at \(root\)/);
    expect(await inputError(() => parseGolden({ ...golden, meta: { dtype: 'float32' } }))).toMatch(
      /at meta\.dtype/,
    );
    const noH0 = structuredClone(golden) as unknown as { cells: Record<string, unknown>[] };
    delete noH0.cells[1].h0;
    expect(await inputError(() => parseGolden(noH0))).toMatch(/at cells\.1\.h0/);
    const short = structuredClone(golden);
    short.multilayer[2].x.data.pop();
    expect(await inputError(() => parseGolden(short))).toMatch(
      /at multilayer\.2\.x: data length does not match shape/,
    );
    const badCell = structuredClone(golden) as unknown as { cells: { cell: string }[] };
    badCell.cells[0].cell = 'RNN';
    expect(await inputError(() => parseGolden(badCell))).toMatch(/at cells\.0\.cell/);
  });

  it('loadGolden reports a missing file and invalid JSON in one line', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'bistable-golden-'));
    try {
      expect(await inputError(() => loadGolden(join(dir, 'absent.json')))).toMatch(
        /cannot read golden file .*ENOENT/,
      );
      const bad = join(dir, 'bad.json');
      await writeFile(bad, '{"meta": ');
      expect(await inputError(() => loadGolden(bad))).toMatch(/bad\.json' is not valid JSON/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
