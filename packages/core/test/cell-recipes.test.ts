import { describe, expect, it } from 'vitest';
import { interpretedFunctions } from '../src/cells/recipe/host.js';
import {
  Adam,
  type Backend,
  BRC,
  CELLS,
  type CellSpec,
  captureCheckpoint,
  cellNames,
  cellSpec,
  decodeCheckpoint,
  defineCell,
  encodeCheckpoint,
  GRU,
  getBackend,
  type HostArray,
  InputError,
  LSTM,
  nBRC,
  cellParams as p,
  type RecipeInputs,
  Rng,
  registerCell,
  renderStatements,
  restoreCheckpoint,
  SequenceModel,
} from '../src/index.js';
import { STEP_KIT_CELL } from '../src/testing/index.js';
import { sameBits } from './helpers.js';

/** nBRC's math, with a per-unit gain on the state that feeds the candidate: a user's variant. */
const nbrcParams = [
  p.input('kernelz', 0),
  p.input('kernelr', 1),
  p.input('kernelh', 2),
  p.recurrent('memoryz', 0),
  p.recurrent('memoryr', 1),
  p.inputBias('bz', 0),
  p.inputBias('br', 1),
];
const gainedStep = ({ P, R, M, h, sigmoid, tanh }: RecipeInputs) => {
  const z = sigmoid(P[0].add(R[0]));
  const a = tanh(P[1].add(R[1])).add(1);
  const n = tanh(P[2].add(a.mul(M[0].mul(h))));
  return { h: z.mul(h).add(z.neg().add(1).mul(n)), cache: [z, a, n] };
};
const GainedNBRC = defineCell({
  name: 'GainedNBRC',
  params: [...nbrcParams, p.pointwise('gain', 0)],
  step: gainedStep,
});

const cells: CellSpec[] = [...Object.values(CELLS), STEP_KIT_CELL, GainedNBRC];

/** Step inputs and output buffers of one cell, drawn from a seed. */
function stepData(spec: CellSpec, B: number, H: number, seed: number, make: (n: number) => HostArray) {
  const rng = new Rng(seed);
  const draw = (n: number, scale = 1) => make(n).map(() => rng.normal() * scale) as HostArray;
  const cell = spec.hasCellState;
  return {
    p: draw(B * spec.gx * H),
    r: spec.gr > 0 ? draw(B * spec.gr * H) : null,
    pw: spec.npw > 0 ? draw(spec.npw * H, 0.7) : null,
    hPrev: draw(B * H, 0.5),
    cPrev: cell ? draw(B * H) : null,
    dOut: draw(B * H),
    dhCarry: draw(B * H),
    dcCarry: cell ? draw(B * H) : null,
  };
}
type StepData = ReturnType<typeof stepData>;

/** Runs one step forward and backward with the given functions; every output in one record. */
function runStep(
  f: Pick<CellSpec, 'forward' | 'backward'>,
  spec: CellSpec,
  B: number,
  H: number,
  x: StepData,
  make: (n: number) => HostArray,
) {
  const cell = spec.hasCellState;
  const o = {
    hOut: make(B * H),
    cOut: cell ? make(B * H) : null,
    cache: make(B * spec.cacheWidth * H),
    dP: make(B * spec.gx * H),
    dR: spec.gr > 0 ? make(B * spec.gr * H) : null,
    dhPrev: make(B * H),
    dcPrev: cell ? make(B * H) : null,
    dPw: spec.npw > 0 ? make(spec.npw * H) : null,
  };
  const at0 = { pOff: 0, rOff: 0, hPrevOff: 0, cPrevOff: 0, hOutOff: 0, cOutOff: 0, cacheOff: 0 };
  f.forward({ B, H, ...at0, p: x.p, r: x.r, pw: x.pw, hPrev: x.hPrev, cPrev: x.cPrev, ...o });
  f.backward({
    B,
    H,
    dOut: x.dOut,
    dOutOff: 0,
    dhCarry: x.dhCarry,
    dhCarryOff: 0,
    dcCarry: x.dcCarry,
    dcCarryOff: 0,
    cache: o.cache,
    cacheOff: 0,
    hPrev: x.hPrev,
    hPrevOff: 0,
    cPrev: x.cPrev,
    cPrevOff: 0,
    pw: x.pw,
    dP: o.dP,
    dPOff: 0,
    dR: o.dR,
    dROff: 0,
    dhPrev: o.dhPrev,
    dhPrevOff: 0,
    dcPrev: o.dcPrev,
    dcPrevOff: 0,
    dPw: o.dPw,
  });
  return o;
}

const f64 = (n: number) => new Float64Array(n);
const f32 = (n: number) => new Float32Array(n);

describe('a recipe’s derived backward against central finite differences (float64)', () => {
  // L = ⟨dOut + dhCarry, h'⟩ + ⟨dcCarry, c'⟩: its gradient with respect to each step input is what
  // the backward writes for it (dPw summed over the rows)
  const B = 2;
  const H = 3;
  const EPS = 1e-6;
  it.each(cells.map((c) => [c.name, c] as const))('%s: dP, dR, dhPrev, dcPrev and dPw', (_, spec) => {
    const x = stepData(spec, B, H, 7, f64);
    const grads = runStep(spec, spec, B, H, x, f64);
    const loss = (d: StepData) => {
      const o = runStep(spec, spec, B, H, d, f64);
      let s = 0;
      for (let i = 0; i < B * H; i++) {
        s += (d.dOut[i] + d.dhCarry[i]) * o.hOut[i];
        if (o.cOut && d.dcCarry) s += d.dcCarry[i] * o.cOut[i];
      }
      return s;
    };
    const pairs: [keyof StepData, HostArray | null][] = [
      ['p', grads.dP],
      ['r', grads.dR],
      ['hPrev', grads.dhPrev],
      ['cPrev', grads.dcPrev],
      ['pw', grads.dPw],
    ];
    let checked = 0;
    for (const [input, analytic] of pairs) {
      const v = x[input];
      expect(v === null, `${input} and its gradient exist together`).toBe(analytic === null);
      if (!v || !analytic) continue;
      for (let i = 0; i < v.length; i++) {
        const at = (s: number) => {
          const moved = v.slice();
          moved[i] += s;
          return loss({ ...x, [input]: moved });
        };
        const fd = (at(EPS) - at(-EPS)) / (2 * EPS);
        expect(Math.abs(fd - analytic[i]), `d/d${input}[${i}]: ${fd} vs ${analytic[i]}`).toBeLessThan(
          1e-7 * Math.max(1, Math.abs(fd)),
        );
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(B * H * (spec.gx + 1));
  });
});

describe('what a recipe tells its kernels', () => {
  it('dREqualsDP only where every dR block is its dP block (LSTM: P_k and R_k enter only as P_k + R_k)', () => {
    expect([BRC, nBRC, GRU, LSTM, STEP_KIT_CELL].map((c) => c.dREqualsDP)).toEqual([
      false,
      false,
      false,
      true,
      false,
    ]);
    const { outputs } = LSTM.program.backward;
    const value = (n: string) => outputs.find((o) => o.name === n)?.value;
    for (let k = 0; k < 4; k++) expect(value(`E${k}`)).toBe(value(`D${k}`));
  });

  it('renderStatements names the temporaries with the dialect’s prefix, and only them', () => {
    const d = { decl: 'let', literal: String, sigmoid: 'sig', tanh: 'th' };
    const plain = renderStatements(nBRC.program.forward, d);
    const cv = renderStatements(nBRC.program.forward, { ...d, temp: 'cv' });
    expect(plain).toMatch(/\bt0\b/);
    expect(cv).not.toMatch(/\bt\d+\b/);
    expect(cv).toBe(plain.replace(/\bt(\d+)\b/g, 'cv$1'));
    // inputs and outputs keep their names
    expect(cv).toMatch(/let hn = cv\d+;/);
    expect(cv).toMatch(/\bP0\b/);
  });
});

describe('the interpreted host functions (no eval under a strict CSP)', () => {
  it.each(
    cells.flatMap((c) =>
      [f64, f32].map((make) => [c.name, make === f64 ? 'float64' : 'float32', c, make] as const),
    ),
  )('%s in %s equal the compiled ones bit for bit', (_, __, spec, make) => {
    const interpreted = interpretedFunctions(spec.program, spec);
    const B = 3;
    const H = 5;
    const x = stepData(spec, B, H, 11, make);
    const a = runStep(spec, spec, B, H, x, make);
    const b = runStep(interpreted, spec, B, H, x, make);
    for (const k of Object.keys(a) as (keyof typeof a)[]) {
      const [u, v] = [a[k], b[k]];
      expect(u === null).toBe(v === null);
      if (u && v) expect(sameBits(u, v), k).toBe(true);
    }
    // and they computed something: the outputs hold no NaN and are not all zero
    expect(a.hOut.some((v) => v !== 0) && !a.dP.some(Number.isNaN)).toBe(true);
  });
});

describe('defineCell and the cell registry refuse mistakes with a message that names them', () => {
  const one = [p.input('k', 0)];
  const cases: [string, () => unknown, RegExp][] = [
    [
      'reading P past the input weights',
      () => defineCell({ name: 'X', params: one, step: ({ P }) => ({ h: P[1], cache: [] }) }),
      /cell 'X' reads P\[1\], but its input weights \(wx slot\) give P\[0\]\.\.P\[0\]/,
    ],
    [
      'reading R without recurrent weights',
      () => defineCell({ name: 'X', params: one, step: ({ P, R }) => ({ h: P[0].add(R[0]), cache: [] }) }),
      /cell 'X' reads R\[0\], but its recurrent weights \(wh slot\) give none/,
    ],
    [
      'reading c without cellState',
      () => defineCell({ name: 'X', params: one, step: ({ P, c }) => ({ h: P[0].add(c), cache: [] }) }),
      /cell 'X' reads c, but it has no cell state \(set cellState: true\)/,
    ],
    [
      'returning c without cellState',
      () => defineCell({ name: 'X', params: one, step: ({ P }) => ({ h: P[0], c: P[0], cache: [] }) }),
      /cell 'X' returns c but has no cellState/,
    ],
    [
      'cellState without returning c',
      () =>
        defineCell({ name: 'X', cellState: true, params: one, step: ({ P }) => ({ h: P[0], cache: [] }) }),
      /cell 'X' has cellState but its step returns no c/,
    ],
    [
      'a parameter shape that does not fit its slot',
      () =>
        defineCell({
          name: 'X',
          params: [...one, { ...p.recurrent('m', 0), shape: (i, h) => [i, h] }],
          step: ({ P }) => ({ h: P[0], cache: [] }),
        }),
      /cell 'X': parameter 'm' in slot wh has shape \[7, 11\] at input size 7 and hidden size 11; expected \[11, k·11\]/,
    ],
    [
      'slot columns with a gap',
      () =>
        defineCell({
          name: 'X',
          params: [...one, p.input('k2', 2)],
          step: ({ P }) => ({ h: P[0], cache: [] }),
        }),
      /cell 'X': parameter 'k2' starts at column 2 of slot wx, expected 1/,
    ],
    [
      'a cache without a value the backward needs',
      // gainedStep's a, left out of the cache: tanh(P1 + R1) + 1 cannot be rebuilt from z and n
      () =>
        defineCell({
          name: 'X',
          params: [...nbrcParams, p.pointwise('gain', 0)],
          step: (v) => {
            const { h, cache } = gainedStep(v);
            return { h, cache: [cache[0], cache[2]] };
          },
        }),
      /cell 'X': the backward needs the value of \(tanh\(\(P1 \+ R1\)\) \+ 1\), which depends on this step's projections; save it/,
    ],
    [
      'two parameters of one name',
      () =>
        defineCell({
          name: 'X',
          params: [...one, { ...p.input('k', 1) }],
          step: ({ P }) => ({ h: P[0], cache: [] }),
        }),
      /cell 'X' has two parameters named 'k'/,
    ],
    [
      'a name that is no identifier',
      () => defineCell({ name: 'my cell', params: one, step: ({ P }) => ({ h: P[0], cache: [] }) }),
      /a cell's name must start with a letter/,
    ],
    [
      'registering a second cell under a name already taken',
      () =>
        registerCell(defineCell({ name: 'nBRC', params: one, step: ({ P }) => ({ h: P[0], cache: [] }) })),
      /a cell named 'nBRC' is already registered/,
    ],
    [
      'an unknown cell name',
      () => cellSpec('NoSuchCell'),
      /unknown cell 'NoSuchCell'; expected one of BRC, nBRC, GRU, LSTM/,
    ],
  ];
  it.each(cases)('%s', (_, go, message) => {
    expect(go).toThrow(InputError);
    expect(go).toThrow(message);
  });

  it('an unknown cell name in a model', async () => {
    const be = await getBackend('reference');
    expect(
      () =>
        new SequenceModel(be, {
          cell: 'NoSuchCell',
          inputSize: 1,
          hiddenSize: 2,
          readout: 'last',
          loss: 'mse',
        }),
    ).toThrow(/unknown cell 'NoSuchCell'/);
  });
});

// ------------------------------------------------------------------------------ end to end

/** Copy-first-input, tiny: the target of each sequence is its first input. */
function copyFirst(B: number, T: number, seed: number) {
  const rng = new Rng(seed);
  const x = Float64Array.from({ length: B * T }, () => rng.uniformIn(-1, 1));
  const y = Float64Array.from({ length: B }, (_, b) => x[b * T]);
  return { x: { shape: [B, T, 1], data: x }, y: { shape: [B, 1], data: y } };
}

describe('a user-defined cell end to end', () => {
  // registered by name, as a config or checkpoint refers to it
  registerCell(GainedNBRC);

  it('is listed after the built-in cells and resolves by name; registering it again is a no-op', () => {
    expect(cellNames().slice(0, 4)).toEqual(['BRC', 'nBRC', 'GRU', 'LSTM']);
    expect(cellNames()).toContain('GainedNBRC');
    expect(cellSpec('GainedNBRC')).toBe(GainedNBRC);
    expect(() => registerCell(GainedNBRC)).not.toThrow();
  });

  const train = async (be: Backend, dtype: 'float32' | 'float64') => {
    const model = new SequenceModel(be, {
      cell: 'GainedNBRC',
      inputSize: 1,
      hiddenSize: 8,
      readout: 'last',
      loss: 'mse',
      dtype,
      seed: 3,
    });
    const adam = new Adam(be, [model], { lr: 0.02 });
    const { x, y } = copyFirst(32, 6, 5);
    const losses: number[] = [];
    for (let s = 0; s < 30; s++) losses.push((await model.trainStep(x, y, adam)).loss);
    return { model, adam, x, losses };
  };

  it.each([
    ['reference', 'float64'],
    ['reference', 'float32'],
    ['cpu', 'float32'],
    ['cpu', 'float64'],
  ] as const)('trains on %s in %s: the loss falls over 30 Adam steps', async (name, dtype) => {
    const be = await getBackend(name);
    const { model, losses } = await train(be, dtype);
    try {
      expect(losses.every(Number.isFinite)).toBe(true);
      expect(losses.at(-1)!).toBeLessThan(0.5 * losses[0]);
    } finally {
      model.dispose();
    }
  });

  it('round-trips through a checkpoint into a model built from the saved cell name', async () => {
    const be = await getBackend('cpu');
    const { model, adam, x } = await train(be, 'float32');
    const bytes = encodeCheckpoint(await captureCheckpoint(model, adam, { note: 'user cell' }));
    const saved = decodeCheckpoint(bytes);
    expect(saved.model.cell).toBe('GainedNBRC');
    expect(Object.keys(saved.params)).toContain('rnn.cells.0.gain');
    const { kind: _, ...options } = saved.model as Extract<typeof saved.model, { kind: 'SequenceModel' }>;
    const again = new SequenceModel(be, { ...options, seed: 99 });
    const adam2 = new Adam(be, [again], { lr: 0.02 });
    try {
      await restoreCheckpoint(saved, again, adam2);
      expect(again.rnn.cell).toBe(GainedNBRC);
      expect(adam2.stepCount).toBe(adam.stepCount);
      const [p, q] = [await model.predict(x), await again.predict(x)];
      expect(sameBits(p.data as HostArray, q.data as HostArray)).toBe(true);
    } finally {
      model.dispose();
      again.dispose();
    }
  });
});
