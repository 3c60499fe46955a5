import { describe, expect, it } from 'vitest';
import {
  type Backend,
  CELL_NAMES,
  type CellSpec,
  type DType,
  getBackend,
  offeredKernels,
  registerCpuBackend,
  type SequenceBackwardArgs,
  type StepKernels,
} from '../src/index.js';
import { dataOf, HostBuffer, hostArray } from '../src/reference/host-buffer.js';
import { hostStepKernels } from '../src/reference/host-kernels.js';
import {
  formatStepKitResult,
  runStepKit,
  STEP_KIT_CELL,
  type StepKitResult,
  stepKitCases,
} from '../src/testing/index.js';
import { forwarding } from './helpers.js';

// the cpu backend again, on two threads even for these tiny shapes, so that the sequence kernels'
// row split meets the oracle too
registerCpuBackend({ name: 'cpu-step-kit-mt', threads: 2, parallelThreshold: 0 });

const runs: [string, DType][] = [
  ['reference', 'float64'],
  ['reference', 'float32'],
  ['cpu', 'float32'],
  ['cpu', 'float64'],
  ['cpu-step-kit-mt', 'float32'],
];

/** The results of one cell's kernels of one kind, as one assertion that lists every failure. */
function expectAllPass(results: StepKitResult[]) {
  expect(results.length).toBeGreaterThan(0);
  const failed = results.filter((r) => !r.passed).map(formatStepKitResult);
  expect(failed, failed.join('\n')).toEqual([]);
}

describe.each(runs)('the step kit on %s in %s', (name, dtype) => {
  const cells = [...CELL_NAMES, STEP_KIT_CELL.name];
  const results = new Map<string, StepKitResult[]>();
  const of = async (cell: string) => {
    if (results.size === 0) {
      for (const r of await runStepKit(await getBackend(name), { dtype }))
        results.set(r.cell, [...(results.get(r.cell) ?? []), r]);
    }
    return results.get(cell) ?? [];
  };

  it.each(cells)('every kernel %s is offered matches core’s host functions in float64', async (cell) => {
    expectAllPass(await of(cell));
  });

  it('ran the kernels this backend offers, at every shape', async () => {
    const kinds = async (cell: string) => [...new Set((await of(cell)).map((r) => r.kernels))].sort();
    const shapes = new Set((await of('GRU')).map((r) => `${r.B}x${r.H}`));
    // B = 1, H not a multiple of 4, and H a multiple of 4
    expect([...shapes]).toEqual(expect.arrayContaining(['1x1', '1x7', '2x8']));
    expect(shapes.size).toBeGreaterThanOrEqual(5);
    if (name === 'reference') {
      for (const cell of cells) expect(await kinds(cell)).toEqual(['sequence', 'step']);
    } else if (dtype === 'float32') {
      // the four cells' WebAssembly sequence kernels, with and without a narrow input; any other
      // cell's recipe runs in place on the WebAssembly heap, one step at a time
      for (const cell of CELL_NAMES) expect(await kinds(cell)).toEqual(['narrowInput', 'sequence']);
      expect(await kinds(STEP_KIT_CELL.name)).toEqual(['step']);
    } else {
      for (const cell of CELL_NAMES) expect(await kinds(cell)).toEqual(['sequence']);
    }
  });
});

// ------------------------------------------------------------------------------ fused recurrence

/**
 * Step kernels that compute the recurrent product themselves (`fusesRecurrent`), on the
 * reference backend's buffers: R = hPrev @ wh + bh in the forward, and the previous step's
 * dR @ whᵀ added to the gradient reaching h in the backward. `dropCarry` forgets the latter.
 */
function fusingStep(spec: CellSpec, dropCarry = false): StepKernels {
  const plain = hostStepKernels(spec);
  return {
    fusesRecurrent: true,
    forward(a, rec) {
      if (!rec) return plain.forward(a);
      const w = spec.gr * a.H;
      const [h, wh] = [dataOf(a.hPrev), dataOf(rec.wh)];
      const bh = rec.bh ? dataOf(rec.bh) : null;
      const r = hostArray(a.B * w, a.hPrev.dtype);
      for (let b = 0; b < a.B; b++) {
        for (let j = 0; j < w; j++) {
          let s = bh ? bh[j] : 0;
          for (let k = 0; k < a.H; k++) s += h[a.hPrevOff + b * a.H + k] * wh[k * w + j];
          r[b * w + j] = s;
        }
      }
      return plain.forward({ ...a, r: new HostBuffer(r), rOff: 0 });
    },
    backward(a, carry) {
      if (!carry || dropCarry) return plain.backward(a);
      const w = spec.gr * a.H;
      const [dR, wh, dh] = [dataOf(carry.dR), dataOf(carry.wh), dataOf(a.dhCarry)];
      const reaching = hostArray(a.B * a.H, a.dhCarry.dtype);
      for (let b = 0; b < a.B; b++) {
        for (let k = 0; k < a.H; k++) {
          let s = dh[a.dhCarryOff + b * a.H + k];
          for (let j = 0; j < w; j++) s += dR[carry.dROff + b * w + j] * wh[k * w + j];
          reaching[b * a.H + k] = s;
        }
      }
      return plain.backward({ ...a, dhCarry: new HostBuffer(reaching), dhCarryOff: 0 });
    },
  };
}

const reference = await getBackend('reference');
/** The reference backend with its step kernels for every cell replaced by `step(spec)`. */
const withStep = (step: (spec: CellSpec) => StepKernels): Backend =>
  forwarding(reference, { cellKernels: (spec) => ({ step: step(spec) }) });

describe('step kernels that fuse the recurrent product', () => {
  it('run with wh, bh and the previous dR, and without, and match the oracle', async () => {
    const results = await runStepKit(
      withStep((s) => fusingStep(s)),
      { dtype: 'float64' },
    );
    expect(results.filter((r) => r.variant === 'recurrent').map((r) => r.cell)).toEqual(
      expect.arrayContaining(['nBRC', 'GRU', 'LSTM', STEP_KIT_CELL.name]),
    );
    // BRC has no recurrent product: only the plain variant
    expect(results.filter((r) => r.cell === 'BRC').map((r) => r.variant)).not.toContain('recurrent');
    expectAllPass(results);
  });
});

// ------------------------------------------------------------------------------ broken kernels

describe('the step kit catches a broken kernel', () => {
  const failures = (results: StepKitResult[]) => results.filter((r) => !r.passed);

  it('a sequence backward off by 1e-3 in one element of dP (cpu, float32)', async () => {
    const cpu = await getBackend('cpu');
    const seq = offeredKernels(cpu, 'GRU').sequence!;
    const broken = forwarding(cpu, {
      cellKernels: (spec) =>
        spec.name === 'GRU'
          ? {
              sequence: {
                ...seq,
                backward: async (a: SequenceBackwardArgs) => {
                  await seq.backward(a);
                  const [v] = await cpu.read(a.dP, 5, 1);
                  cpu.write(a.dP, [v + 1e-3], 5);
                },
              },
            }
          : cpu.cellKernels!(spec),
    });
    const results = await runStepKit(broken, { dtype: 'float32', cells: ['GRU', 'LSTM'] });
    const bad = failures(results);
    expect(bad.length).toBeGreaterThan(0);
    for (const r of bad) {
      expect(r.cell).toBe('GRU');
      expect(r.worst).toMatch(/^dP \[/);
      expect(r.gradientError).toBeGreaterThan(r.gradientTolerance);
      // only dP is wrong: the forward and every other gradient still match
      expect(r.forwardError).toBeLessThanOrEqual(r.forwardTolerance);
      for (const [out, e] of Object.entries(r.errors))
        if (!out.startsWith('dP ')) expect(e).toBeLessThan(1e-4);
    }
    // the narrow-input kernels are not the broken ones
    expect(bad.every((r) => r.kernels === 'sequence')).toBe(true);
    expect(failures(results.filter((r) => r.cell === 'LSTM'))).toEqual([]);
  });

  it('a step forward that writes h at offset 0 instead of hOutOff', async () => {
    const be = withStep((spec) => {
      const k = hostStepKernels(spec);
      return { ...k, forward: (a) => k.forward({ ...a, hOutOff: 0 }) };
    });
    const bad = failures(await runStepKit(be, { dtype: 'float64', cells: ['nBRC'] }));
    expect(bad.length).toBeGreaterThan(0);
    expect(new Set(bad.map((r) => r.worst))).toEqual(new Set(['hOut']));
  });

  it('a sequence backward that leaves dPw as it found it', async () => {
    const seq = offeredKernels(reference, 'BRC').sequence!;
    const be = forwarding(reference, {
      cellKernels: () => ({
        // writes dPw somewhere else
        sequence: {
          ...seq,
          backward: (a) => seq.backward({ ...a, dPw: reference.alloc(a.dPw!.length, 'float64') }),
        },
      }),
    });
    const results = await runStepKit(be, { dtype: 'float64', cells: ['BRC'] });
    expect(results.length).toBeGreaterThan(0);
    for (const r of results) {
      expect(r.passed).toBe(false);
      // the NaN it started as
      expect(r.worst).toMatch(/^dPw \[/);
      expect(r.gradientError).toBe(Number.POSITIVE_INFINITY);
    }
  });

  it('a fusing step kernel that ignores the previous step’s dR', async () => {
    const bad = failures(
      await runStepKit(
        withStep((s) => fusingStep(s, true)),
        { dtype: 'float64' },
      ),
    );
    expect(bad.length).toBeGreaterThan(0);
    for (const r of bad) {
      expect(r.variant).toBe('recurrent');
      expect(r.worst).toMatch(/\[carry\]$/);
    }
  });

  it('a kernel that throws: reported, not thrown', async () => {
    const be = withStep(() => ({
      forward: () => {
        throw new Error('no such kernel');
      },
      backward: () => {},
    }));
    const r = await stepKitCases(be, {
      dtype: 'float64',
      cells: ['LSTM'],
      shapes: [{ B: 2, H: 3 }],
    })[0].run();
    expect(r).toMatchObject({ passed: false, worst: 'threw', thrown: 'no such kernel' });
    expect(formatStepKitResult(r)).toBe('FAIL LSTM step[plain] B=2 H=3 float64: threw no such kernel');
  });

  it('refuses a dtype the backend does not compute in', () => {
    const f32only = forwarding(reference, { dtypes: ['float32'] });
    expect(() => stepKitCases(f32only, { dtype: 'float64' })).toThrow(/computes in float32, not float64/);
  });
});
