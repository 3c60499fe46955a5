import { Adam, type Backend, type CellName, SequenceModel } from '@bistable/core';
import type { Batch } from '@bistable/tasks';

export interface DemoSettings {
  hiddenSize: number;
  lr: number;
  seed: number;
}

export interface Contender {
  cell: CellName;
  model: SequenceModel;
  optimizer: Adam;
  /** Training loss of every step, in order. */
  losses: number[];
}

/**
 * Two models, one per cell, trained on the same batches with the same settings, so that their
 * loss curves differ only by the cell.
 */
export class SideBySide {
  readonly contenders: Contender[];
  private elapsedMs = 0;

  constructor(
    readonly backend: Backend,
    cells: CellName[],
    readonly settings: DemoSettings,
  ) {
    this.contenders = cells.map((cell) => {
      const model = new SequenceModel(backend, {
        cell,
        inputSize: 1,
        hiddenSize: settings.hiddenSize,
        numLayers: 1,
        readout: 'last',
        loss: 'mse',
        dtype: 'float32',
        seed: settings.seed,
      });
      return { cell, model, optimizer: new Adam(backend, [model], { lr: settings.lr }), losses: [] };
    });
  }

  get steps(): number {
    return this.contenders[0]?.losses.length ?? 0;
  }

  /** Mean wall time of one training step of both models, in milliseconds. */
  get msPerStep(): number {
    return this.steps === 0 ? 0 : this.elapsedMs / this.steps;
  }

  /** One Adam step of every model on the same batch. */
  async step(batch: Batch): Promise<void> {
    const t0 = performance.now();
    for (const c of this.contenders) {
      const { loss } = await c.model.trainStep(batch.x, batch.y, c.optimizer);
      c.losses.push(loss);
    }
    this.elapsedMs += performance.now() - t0;
  }

  dispose(): void {
    for (const c of this.contenders) c.model.dispose();
  }
}

/**
 * Steps per second of `SideBySide.step` alone, back to back, on fresh models: batches made and
 * trained with no yielding to the page. The demo's own rate (which paints and answers clicks
 * between steps) is measured against it.
 */
export async function computeOnlyRate(
  backend: Backend,
  cells: CellName[],
  settings: DemoSettings,
  batches: (step: number) => Batch,
  opts: {
    warmup?: number;
    minSteps?: number;
    minMs?: number;
    /** Awaited after every timed step: how the demo once yielded (`setTimeout(0)`), for comparison. */
    between?: () => Promise<void>;
  } = {},
): Promise<{ stepsPerSecond: number; steps: number; ms: number }> {
  const warmup = opts.warmup ?? 3;
  const minSteps = opts.minSteps ?? 5;
  const minMs = opts.minMs ?? 1000;
  const pair = new SideBySide(backend, cells, settings);
  try {
    for (let i = 0; i < warmup; i++) await pair.step(batches(i));
    const t0 = performance.now();
    let steps = 0;
    while (steps < minSteps || performance.now() - t0 < minMs) {
      await pair.step(batches(warmup + steps));
      steps++;
      if (opts.between) await opts.between();
    }
    const ms = performance.now() - t0;
    return { stepsPerSecond: (steps * 1000) / ms, steps, ms };
  } finally {
    pair.dispose();
  }
}
