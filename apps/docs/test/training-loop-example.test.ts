import { describe, expect, it, vi } from 'vitest';

/** The training-loop guide includes examples/training-loop.ts verbatim; this keeps it working. */
describe('training-loop.ts', () => {
  it('fits with validation, a schedule, clipping and callbacks, then resumes from a checkpoint', async () => {
    const lines: string[] = [];
    const spy = vi.spyOn(console, 'log').mockImplementation((...args: unknown[]) => {
      lines.push(args.map(String).join(' '));
    });
    try {
      const name = 'training-loop'; // a computed path, as examples.test.ts imports its examples
      await import(`../examples/${name}.ts`);
    } finally {
      spy.mockRestore();
    }
    const out = lines.join('\n');
    const epochs = lines.filter((l) => l.startsWith('epoch '));
    expect(epochs.length).toBeGreaterThan(0);
    // the cosine schedule starts at its lr and falls
    expect(epochs[0]).toMatch(/^epoch 0: lr 0\.01000 /);
    const [, first, last] = out.match(/valid loss: first ([\d.]+), last ([\d.]+)/) ?? [];
    expect(Number(last)).toBeLessThan(Number(first));
    const [, at, more, steps] =
      out.match(/resumed at epoch (\d+): (\d+) more epochs, (\d+) steps in all/) ?? [];
    expect(Number(at) + Number(more)).toBe(10);
    expect(Number(steps)).toBe(10 * 32);
  });
});
