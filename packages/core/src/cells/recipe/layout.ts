import { InputError } from '../../backend/errors.js';
import type { PackedSlot, ParamSpec } from '../spec.js';

/** The packed layout a cell's parameters imply, in units of H. */
export interface PackedLayout {
  gx: number;
  gr: number;
  nbx: number;
  hasBh: boolean;
  npw: number;
}

const MATRIX: Partial<Record<PackedSlot, 'I' | 'H'>> = { wx: 'I', wh: 'H' };

/**
 * Reads the packed layout off the parameters: each parameter is a block of `width` columns (in
 * units of H) at `col` in its slot, and the blocks of a slot must tile it from column 0. A
 * parameter whose shape does not fit its slot is an error that names it.
 */
export function packedLayout(cell: string, params: readonly ParamSpec[]): PackedLayout {
  const widths: Partial<Record<PackedSlot, [number, number, string][]>> = {};
  const seen = new Set<string>();
  for (const p of params) {
    if (seen.has(p.name)) throw new InputError(`cell '${cell}' has two parameters named '${p.name}'`);
    seen.add(p.name);
    const w = blockWidth(cell, p);
    const blocks = widths[p.slot] ?? [];
    blocks.push([p.col, w, p.name]);
    widths[p.slot] = blocks;
  }
  const width = (slot: PackedSlot): number => {
    const blocks = (widths[slot] ?? []).sort((a, b) => a[0] - b[0]);
    let at = 0;
    for (const [col, w, name] of blocks) {
      if (col !== at) {
        throw new InputError(
          `cell '${cell}': parameter '${name}' starts at column ${col} of slot ${slot}, expected ${at} ` +
            '(the blocks of a slot must follow one another from column 0)',
        );
      }
      at += w;
    }
    return at;
  };
  const layout = {
    gx: width('wx'),
    gr: width('wh'),
    nbx: width('bx'),
    hasBh: (widths.bh ?? []).length > 0,
    npw: width('pw'),
  };
  if (layout.gx === 0) throw new InputError(`cell '${cell}' has no input weights (slot wx)`);
  if (layout.nbx > layout.gx) {
    throw new InputError(
      `cell '${cell}': its input biases cover ${layout.nbx} blocks, its input weights ${layout.gx}`,
    );
  }
  if (layout.hasBh && width('bh') !== layout.gr) {
    throw new InputError(
      `cell '${cell}': its recurrent biases cover ${width('bh')} blocks, its recurrent weights ${layout.gr}`,
    );
  }
  return layout;
}

/** A parameter's width in units of H, checked against the shape its slot implies. */
function blockWidth(cell: string, p: ParamSpec): number {
  // two sizes that cannot be confused with each other or with a block count
  const I = 7;
  const H = 11;
  const shape = p.shape(I, H);
  const rows = MATRIX[p.slot];
  const bad = (want: string) =>
    new InputError(
      `cell '${cell}': parameter '${p.name}' in slot ${p.slot} has shape [${shape.join(', ')}] at ` +
        `input size ${I} and hidden size ${H}; expected ${want}`,
    );
  if (rows) {
    const r = rows === 'I' ? I : H;
    const [a, b] = p.transposed ? [shape[1], shape[0]] : [shape[0], shape[1]];
    if (shape.length !== 2 || a !== r || b % H !== 0 || b === 0) {
      throw bad(p.transposed ? `[k·${H}, ${r}]` : `[${r}, k·${H}]`);
    }
    return b / H;
  }
  if (shape.length !== 1 || shape[0] % H !== 0 || shape[0] === 0) throw bad(`[k·${H}]`);
  return shape[0] / H;
}
