import { describe, expect, it } from 'vitest';
import { WASM_CELL_IDS } from '../src/cpu/backend.js';
import { wasmApi } from '../src/cpu/wasm/api.js';
import { compileCpuModule, instantiateCpuModule } from '../src/cpu/wasm/module.js';
import { BRC, type CellSpec, GRU, LSTM, nBRC } from '../src/index.js';

/**
 * The cpu backend's SIMD kernels (assembly/cpu) are written by hand, so their shape tables repeat
 * what each cell's recipe says. Here the tables of the built module are read back and checked
 * against the recipes' CellSpecs: a recipe that changes a width fails this test until the
 * AssemblyScript follows. (The kernels' arithmetic is checked by the step kit, test/step-kit.test.ts.)
 */
interface Tables {
  CELL_BRC: { value: number };
  CELL_NBRC: { value: number };
  CELL_GRU: { value: number };
  CELL_LSTM: { value: number };
  cellGx(cell: number): number;
  cellGr(cell: number): number;
  cellCache(cell: number): number;
  cellNpw(cell: number): number;
  cellNbx(cell: number): number;
  cellHasBh(cell: number): number;
}

const memory = new (wasmApi()!.Memory)({ initial: 1 });
const wasm = (await instantiateCpuModule(await compileCpuModule(false), memory)) as unknown as Tables;

const cells: [string, CellSpec, number][] = [
  ['CELL_BRC', BRC, wasm.CELL_BRC.value],
  ['CELL_NBRC', nBRC, wasm.CELL_NBRC.value],
  ['CELL_GRU', GRU, wasm.CELL_GRU.value],
  ['CELL_LSTM', LSTM, wasm.CELL_LSTM.value],
];

describe('the cpu WebAssembly module’s cell tables', () => {
  it('number the four cells as the cpu backend passes them (WASM_CELL_IDS)', () => {
    expect(cells.map((c) => c[2])).toEqual([0, 1, 2, 3]);
    expect(Object.fromEntries(cells.map(([, spec, id]) => [spec.name, id]))).toEqual(WASM_CELL_IDS);
  });

  it.each(cells)('%s matches the recipe of %s', (_, spec, id) => {
    expect({
      gx: wasm.cellGx(id),
      gr: wasm.cellGr(id),
      cacheWidth: wasm.cellCache(id),
      npw: wasm.cellNpw(id),
      nbx: wasm.cellNbx(id),
      hasBh: wasm.cellHasBh(id) !== 0,
    }).toEqual({
      gx: spec.gx,
      gr: spec.gr,
      cacheWidth: spec.cacheWidth,
      npw: spec.npw,
      nbx: spec.nbx,
      hasBh: spec.hasBh,
    });
  });

  it('gives only LSTM a cell state, as the recipes do', () => {
    // no table holds it: assembly/cpu/sequence.ts reads cAll where cell == CELL_LSTM
    expect(cells.filter(([, s]) => s.hasCellState).map(([name]) => name)).toEqual(['CELL_LSTM']);
  });
});
