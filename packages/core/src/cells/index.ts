import { InputError } from '../backend/errors.js';
import { BRC } from './brc.js';
import { GRU } from './gru.js';
import { LSTM } from './lstm.js';
import { nBRC } from './nbrc.js';
import type { CellSpec } from './spec.js';

/** The built-in cells' specifications by name: a new built-in cell is its recipe file plus a line here. */
export const CELLS = { BRC, nBRC, GRU, LSTM } as const satisfies Readonly<Record<string, CellSpec>>;

/**
 * The built-in cells: BRC and nBRC (Vecoven, Ernst & Drion 2021), GRU and LSTM. Cells made with
 * defineCell are named by any string (see CellRef).
 *
 * @category Cells
 */
export type CellName = keyof typeof CELLS;
/** BRC, nBRC, GRU and LSTM. */
export const CELL_NAMES = Object.keys(CELLS) as CellName[];

const registered = new Map<string, CellSpec>(Object.entries(CELLS));

/**
 * Makes a cell made with `defineCell` known by name, so that configs, checkpoints and the CLI can
 * refer to it. A name already taken is an error (the built-in four included).
 *
 * @category Cells
 */
export function registerCell(spec: CellSpec): void {
  if (typeof spec?.forward !== 'function' || !spec.program) {
    throw new InputError('registerCell takes a cell made with defineCell');
  }
  const have = registered.get(spec.name);
  if (have === spec) return;
  if (have) throw new InputError(`a cell named '${spec.name}' is already registered`);
  registered.set(spec.name, spec);
}

/** Every registered cell's name: the built-in four, then the registered ones in order. */
export function cellNames(): string[] {
  return [...registered.keys()];
}

/**
 * A cell's specification by name (registered cells included), or the spec itself when given
 * one; an unknown name is an InputError that lists the cells.
 */
export function cellSpec(cell: string | CellSpec): CellSpec {
  if (typeof cell !== 'string') return cell;
  const spec = registered.get(cell);
  if (!spec) throw new InputError(`unknown cell '${cell}'; expected one of ${cellNames().join(', ')}`);
  return spec;
}

export { type BlockOptions, cellParams } from './param-blocks.js';
export type { CellRecipe, RecipeStep } from './recipe/define.js';
export { defineCell } from './recipe/define.js';
export type { CellProgram, Dialect, Instr, Operand, StepProgram } from './recipe/program.js';
export { renderStatements } from './recipe/program.js';
export type { RecipeInputs } from './recipe/values.js';
export { Val } from './recipe/values.js';
export type { CellRef, CellSpec, InitSpec, PackedSlot, ParamSpec } from './spec.js';
export { BRC, GRU, LSTM, nBRC };
