import { SEED_CELL_ORDER } from '@bistable/tasks';
import type { TopLevelSpec } from 'vega-lite';

/** Cells in brc_pytorch's order, each with a fixed colour in every figure. */
const CELL_ORDER = SEED_CELL_ORDER;
const CELL_COLOURS = ['#1f77b4', '#2ca02c', '#d62728', '#9467bd'];

function cellScale(present: string[]) {
  const domain = [
    ...CELL_ORDER.filter((c) => present.includes(c)),
    ...present.filter((c) => !CELL_ORDER.includes(c)),
  ];
  return { domain, range: domain.map((c) => CELL_COLOURS[CELL_ORDER.indexOf(c)] ?? '#7f7f7f') };
}

const DASHES = [
  [2, 2],
  [1, 0],
  [8, 4],
  [12, 3, 3, 3],
  [4, 6],
];

const base = {
  $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
  background: 'white',
  config: {
    title: { fontSize: 15 },
    axis: { labelFontSize: 12, titleFontSize: 13 },
    legend: { labelFontSize: 12 },
  },
} as const;

export interface LossCurve {
  cell: string;
  length: number;
  points: { step: number; loss: number }[];
}

/**
 * The published copy-first-input figure: the moving average of every run's per-step training
 * loss, colour by cell, line style by length, and the 0.1 early-stop line.
 */
export function copyFirstInputSpec(
  curves: LossCurve[],
  opts: { threshold: number; subtitle: string[] },
): TopLevelSpec {
  const lengths = [...new Set(curves.map((c) => c.length))].sort((a, b) => a - b);
  const values = curves.flatMap((c) =>
    c.points.map((p) => ({ cell: c.cell, length: `T = ${c.length}`, step: p.step, loss: p.loss })),
  );
  return {
    ...base,
    title: {
      text: 'Training Loss of Various Recurrent Cells on Copy-First-Input Task',
      subtitle: opts.subtitle,
    },
    width: 760,
    height: 380,
    layer: [
      {
        data: { values },
        mark: { type: 'line', strokeWidth: 1.6, clip: true },
        encoding: {
          x: { field: 'step', type: 'quantitative', title: 'Gradient Iterations' },
          y: {
            field: 'loss',
            type: 'quantitative',
            title: 'MSE Loss (moving average)',
            scale: { zero: true },
          },
          color: {
            field: 'cell',
            type: 'nominal',
            title: 'Cell',
            scale: cellScale([...new Set(curves.map((c) => c.cell))]),
          },
          strokeDash: {
            field: 'length',
            type: 'nominal',
            title: 'Sequence length',
            scale: {
              domain: lengths.map((l) => `T = ${l}`),
              range: lengths.map((_, i) => DASHES[i % DASHES.length]),
            },
          },
          detail: [{ field: 'cell' }, { field: 'length' }],
        },
      },
      {
        data: { values: [{ y: opts.threshold }] },
        mark: { type: 'rule', strokeDash: [6, 4], color: 'black' },
        encoding: { y: { field: 'y', type: 'quantitative' } },
      },
    ],
  };
}

export interface AccuracyBand {
  cell: string;
  points: { length: number; mean: number; low: number; high: number }[];
}

/** Test accuracy against L, mean over repeats with a ±SEM band, and the longest trained length. */
export function testAccuracySpec(
  bands: AccuracyBand[],
  opts: { layers: number; trainMax: number; subtitle: string[] },
): TopLevelSpec {
  const values = bands.flatMap((b) => b.points.map((p) => ({ cell: b.cell, ...p })));
  const color = {
    field: 'cell',
    type: 'nominal' as const,
    title: 'Cell',
    scale: cellScale(bands.map((b) => b.cell)),
  };
  const x = {
    field: 'length',
    type: 'quantitative' as const,
    title: 'Sequence Length',
    scale: { nice: false },
  };
  return {
    ...base,
    title: {
      text: [
        'Test Set Accuracy of Various Recurrent Cells on Binary Addition Task',
        `${opts.layers} Layer Implementation`,
      ],
      subtitle: opts.subtitle,
    },
    width: 760,
    height: 380,
    layer: [
      {
        data: { values },
        mark: { type: 'area', opacity: 0.22 },
        encoding: {
          x,
          y: { field: 'low', type: 'quantitative' },
          y2: { field: 'high' },
          color: { ...color, legend: null },
        },
      },
      {
        data: { values },
        mark: { type: 'line', strokeWidth: 1.8, point: { size: 14 } },
        encoding: {
          x,
          y: { field: 'mean', type: 'quantitative', title: 'Accuracy', scale: { domain: [0, 1] } },
          color,
        },
      },
      {
        data: { values: [{ x: opts.trainMax }] },
        mark: { type: 'rule', strokeDash: [2, 3], color: 'black' },
        encoding: { x: { field: 'x', type: 'quantitative' } },
      },
    ],
    // the legend shows the lines; the bands would otherwise replace their symbols with swatches
    resolve: { legend: { color: 'independent' } },
  };
}

export interface EpochCurve {
  cell: string;
  split: 'train' | 'validation';
  points: { epoch: number; value: number }[];
}

/** brc_pytorch's TVLoss / TVAcc figures: train and validation per epoch over the curriculum. */
export function curriculumSpec(
  curves: EpochCurve[],
  opts: { metric: 'loss' | 'accuracy'; layers: number; subtitle: string[] },
): TopLevelSpec {
  const values = curves.flatMap((c) => c.points.map((p) => ({ cell: c.cell, split: c.split, ...p })));
  const what = opts.metric === 'loss' ? 'BCE Loss' : 'Sequence Accuracy';
  return {
    ...base,
    title: {
      text: `Binary Addition: Training and Validation ${opts.metric === 'loss' ? 'Loss' : 'Accuracy'} (${opts.layers} Layer)`,
      subtitle: opts.subtitle,
    },
    width: 760,
    height: 340,
    data: { values },
    mark: { type: 'line', strokeWidth: 1.5 },
    encoding: {
      x: { field: 'epoch', type: 'quantitative', title: 'Epoch (over the curriculum)' },
      y: { field: 'value', type: 'quantitative', title: what },
      color: {
        field: 'cell',
        type: 'nominal',
        title: 'Cell',
        scale: cellScale([...new Set(curves.map((c) => c.cell))]),
      },
      strokeDash: {
        field: 'split',
        type: 'nominal',
        title: 'Set',
        scale: {
          domain: ['train', 'validation'],
          range: [
            [1, 0],
            [5, 3],
          ],
        },
      },
      detail: [{ field: 'cell' }, { field: 'split' }],
    },
  };
}
