import { InputError } from '../backend/errors.js';
import type { HostArray } from '../backend/types.js';
import type { CellSpec, PackedSlot, ParamSpec } from '../cells/spec.js';
import { packedLengths } from '../runner/recurrent-unit.js';

/** A tensor on the host: row-major data and its shape. */
export interface HostTensor {
  shape: number[];
  data: HostArray;
}

/** Leading dimension of a packed matrix slot. */
function slotWidth(cell: CellSpec, slot: PackedSlot, H: number): number {
  return slot === 'wx' ? cell.gx * H : slot === 'wh' ? cell.gr * H : 0;
}

/** Walks the elements of a named parameter: fn(logicalIndex, packedIndex). */
function forEachElement(
  cell: CellSpec,
  p: ParamSpec,
  I: number,
  H: number,
  fn: (li: number, pi: number) => void,
) {
  const shape = p.shape(I, H);
  const base = p.col * H;
  if (shape.length === 1) {
    for (let j = 0; j < shape[0]; j++) fn(j, base + j);
    return;
  }
  const ld = slotWidth(cell, p.slot, H);
  const [r, c] = shape;
  for (let i = 0; i < r; i++) {
    for (let j = 0; j < c; j++) {
      // logical [i, j]: packed row i, column j when stored as is; row j, column i when transposed
      fn(i * c + j, p.transposed ? j * ld + base + i : i * ld + base + j);
    }
  }
}

/** Named (torch-layout) tensors from the packed slots of one cell. */
export function unpackNamed(
  cell: CellSpec,
  I: number,
  H: number,
  slots: Partial<Record<PackedSlot, HostArray>>,
): Record<string, HostTensor> {
  const out: Record<string, HostTensor> = {};
  for (const p of cell.params) {
    const src = slots[p.slot]!;
    const shape = p.shape(I, H);
    const data = new (src.constructor as typeof Float64Array)(shape.reduce((a, b) => a * b, 1));
    forEachElement(cell, p, I, H, (li, pi) => {
      data[li] = src[pi];
    });
    out[p.name] = { shape, data };
  }
  return out;
}

/** Packed slots from named tensors; every parameter must be present with its exact shape. */
export function packNamed(
  cell: CellSpec,
  I: number,
  H: number,
  named: Record<string, { shape: readonly number[]; data: ArrayLike<number> }>,
  prefix = '',
): Partial<Record<PackedSlot, Float64Array>> {
  const slots: Partial<Record<PackedSlot, Float64Array>> = {};
  for (const [slot, len] of Object.entries(packedLengths(cell, I, H)))
    slots[slot as PackedSlot] = new Float64Array(len);
  for (const p of cell.params) {
    const t = named[p.name];
    const full = `${prefix}${p.name}`;
    if (!t) throw new InputError(`missing parameter '${full}'`);
    const want = p.shape(I, H);
    if (t.shape.length !== want.length || t.shape.some((d, i) => d !== want[i])) {
      throw new InputError(
        `parameter '${full}' has shape [${t.shape.join(', ')}], expected [${want.join(', ')}]`,
      );
    }
    const dst = slots[p.slot]!;
    forEachElement(cell, p, I, H, (li, pi) => {
      const v = t.data[li];
      if (!Number.isFinite(v)) throw new InputError(`parameter '${full}' holds a non-finite value (${v})`);
      dst[pi] = v;
    });
  }
  return slots;
}
