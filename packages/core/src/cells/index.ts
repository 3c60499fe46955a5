import { InputError } from '../backend/errors.js';
import type { CellName } from '../backend/types.js';
import { BRC } from './brc.js';
import { GRU } from './gru.js';
import { LSTM } from './lstm.js';
import { nBRC } from './nbrc.js';
import type { CellSpec } from './spec.js';

/** The four cells' specifications by name. */
export const CELLS: Readonly<Record<CellName, CellSpec>> = { BRC, nBRC, GRU, LSTM };
/** BRC, nBRC, GRU and LSTM. */
export const CELL_NAMES = Object.keys(CELLS) as CellName[];

/** A cell's specification by name, or an InputError listing the cells. */
export function cellSpec(name: string): CellSpec {
  const spec = (CELLS as Record<string, CellSpec>)[name];
  if (!spec) throw new InputError(`unknown cell '${name}'; expected one of ${CELL_NAMES.join(', ')}`);
  return spec;
}

export type { CellSpec, InitSpec, PackedSlot, ParamSpec } from './spec.js';
export { BRC, GRU, LSTM, nBRC };
