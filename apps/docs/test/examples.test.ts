import { afterEach, describe, expect, it, vi } from 'vitest';

/**
 * The guides include these files verbatim (<<< @/examples/…). Running them here keeps every
 * snippet on the site working against the packages as they are.
 */
async function runExample(name: string): Promise<string> {
  const lines: string[] = [];
  const spy = vi.spyOn(console, 'log').mockImplementation((...args: unknown[]) => {
    lines.push(args.map((a) => (typeof a === 'string' ? a : JSON.stringify(a))).join(' '));
  });
  try {
    await import(`../examples/${name}.ts`);
  } finally {
    spy.mockRestore();
  }
  return lines.join('\n');
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe('the guides’ examples', () => {
  it('home.ts (the home page) trains an nBRC with fit, and its test MSE falls', async () => {
    const out = await runExample('home');
    const losses = (out.match(/test MSE per epoch (.*)/)?.[1] ?? '').split(' ').map(Number);
    expect(losses).toHaveLength(6);
    expect(losses[5]).toBeLessThan(0.8 * losses[0]);
  }, 120_000);

  it('cell-step.ts lists torch-named nBRC parameters and steps a batch', async () => {
    const out = await runExample('cell-step');
    expect(out).toContain('kernelz [3, 4]');
    expect(out).toContain('memoryz [4, 4]');
    const h =
      out
        .match(/h after 5 steps: (.*)/)?.[1]
        .split(' ')
        .map(Number) ?? [];
    expect(h).toHaveLength(8);
    // nBRC's state is a convex mix of the old state and a tanh: it stays inside (-1, 1)
    for (const v of h) expect(Math.abs(v)).toBeLessThan(1);
  });

  it('multilayer.ts runs a bidirectional two-layer BRC forward and backward', async () => {
    const out = await runExample('multilayer');
    expect(out).toContain('output [4,12,16] hN [4,4,8]');
    expect(out).toContain('dL/dx [4,12,3] dL/dh0 [4,4,8]');
    expect(out).toContain('cells.0.kernelz');
  });

  it('train-copy-first-input.ts lowers the loss', async () => {
    const out = await runExample('train-copy-first-input');
    const [, first, last] = out.match(/first 20 steps ([\d.]+), last 20 ([\d.]+)/) ?? [];
    expect(Number(last)).toBeLessThan(0.8 * Number(first));
  });

  it('checkpoint.ts saves a trained model with its optimiser and resumes it exactly', async () => {
    const out = await runExample('checkpoint');
    expect(out).toContain('extra {"epoch":1} optimizer step 5');
    expect(out).toContain('same predictions: true');
  });

  it('custom-backend.ts passes every conformance case at level 1', async () => {
    const out = await runExample('custom-backend');
    const [, pass, total] = out.match(/(\d+) of (\d+) cases pass/) ?? [];
    expect(Number(total)).toBeGreaterThan(0);
    expect(pass).toBe(total);
    expect(out).not.toContain('FAIL');
  });
});

describe('the custom-cell guide’s example', () => {
  it('custom-cell.ts trains a user-defined cell on every backend that starts here, to the same losses', async () => {
    const { registeredBackends } = await import('@bistable/core');
    const out = await runExample('custom-cell');
    const trained = new Map(
      [...out.matchAll(/^(\S+): loss ([\d.]+) → ([\d.]+) \((host|step|sequence) kernels\)$/gm)].map(
        ([, name, first, last, level]) => [name, { first: Number(first), last: Number(last), level }],
      ),
    );
    const skipped = [...out.matchAll(/^(\S+): does not start here/gm)].map((m) => m[1]);
    // every registered backend either trained or said why not
    expect([...trained.keys(), ...skipped].sort()).toEqual(
      registeredBackends()
        .map((r) => r.name)
        .sort(),
    );
    // what starts on any machine with the docs' dependencies (CI adds the GPU ones it can)
    for (const name of ['reference', 'cpu', 'tfjs-cpu', 'tfjs-wasm', 'gpujs-cpu'])
      expect(trained.has(name), name).toBe(true);
    // core runs a user cell's recipe in its own kernels: whole sequences on reference, steps on cpu
    expect(trained.get('reference')!.level).toBe('sequence');
    expect(trained.get('cpu')!.level).toBe('step');
    const ref = trained.get('reference')!;
    expect(ref.last).toBeLessThan(0.8 * ref.first);
    // same seed, same batches: every backend follows the reference's run up to float32 rounding
    for (const [name, r] of trained) {
      expect(Math.abs(r.first - ref.first), name).toBeLessThan(5e-3);
      expect(Math.abs(r.last - ref.last), name).toBeLessThan(5e-3);
    }
  }, 600_000);
});

describe('the tfjs-layers example', () => {
  it('tfjs-layers.ts trains an nBRC layer with model.fit and reloads it', async () => {
    const out = await runExample('tfjs-layers');
    const [, first, last] = out.match(/loss: epoch 1 ([\d.]+), epoch \d+ ([\d.]+)/) ?? [];
    expect(Number(last)).toBeLessThan(0.5 * Number(first));
    expect(out).toContain('reloaded model predicts the same: true');
  });
});
