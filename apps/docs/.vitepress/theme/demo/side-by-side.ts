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
