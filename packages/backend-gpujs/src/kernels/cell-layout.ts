import type { CellSpec, Operand, StepProgram } from '@bistable/core';

/** The buffers a step writes, in the order of a step kernel's output. */
export type RegionKey = 'cache' | 'h' | 'c' | 'dP' | 'dR' | 'dhPrev' | 'dcPrev' | 'dPw';

/**
 * Where a region's values come from. Only `kernel` regions take threads: a region equal to an
 * earlier one is committed from that one's range (LSTM's dR is its dP), a constant one is a fill
 * (LSTM's pointwise dhPrev is 0), and a dPw that gains nothing is left as it is.
 */
export type RegionSource =
  | { readonly kind: 'kernel' }
  | { readonly kind: 'copy'; readonly of: RegionKey }
  | { readonly kind: 'fill'; readonly value: number }
  | { readonly kind: 'keep' };

/** One destination of a step: a block of program outputs, one per H columns. */
export interface Region {
  readonly key: RegionKey;
  readonly outputs: readonly string[];
  /** Each output's value in the program (a variable, an input or a literal). */
  readonly values: readonly Operand[];
  /**
   * [B rows, blocks·H]; otherwise one row (dPw: each of its threads sums its unit's share over
   * the B rows and adds it to the incoming dPw).
   */
  readonly perRow: boolean;
  readonly source: RegionSource;
}

const names = (letter: string, n: number) => Array.from({ length: n }, (_, k) => `${letter}${k}`);

/** The forward step's output: [cache (B·cw·H) | h' (B·H) | c' (B·H, cells with c)]. */
export function forwardRegions(spec: CellSpec): Region[] {
  return plan(spec.program.forward, [
    ['cache', names('C', spec.cacheWidth), true],
    ['h', ['hn'], true],
    ['c', spec.hasCellState ? ['cn'] : [], true],
  ]);
}

/** The backward step's output: [dP | dR | dhPrev | dcPrev | dPw (npw·H)]. */
export function backwardRegions(spec: CellSpec): Region[] {
  return plan(spec.program.backward, [
    ['dP', names('D', spec.gx), true],
    ['dR', names('E', spec.gr), true],
    ['dhPrev', ['dhp'], true],
    ['dcPrev', spec.hasCellState ? ['dcp'] : [], true],
    ['dPw', names('W', spec.npw), false],
  ]);
}

function plan(prog: StepProgram, raw: [RegionKey, string[], boolean][]): Region[] {
  const value = new Map(prog.outputs.map((o) => [o.name, o.value]));
  const out: Region[] = [];
  for (const [key, outputs, perRow] of raw) {
    if (outputs.length === 0) continue;
    const values = outputs.map((n) => {
      const v = value.get(n);
      if (v === undefined) throw new Error(`the cell's program defines no output ${n}`);
      return v;
    });
    const constant = typeof values[0] === 'number' && values.every((v) => v === values[0]);
    const same = out.find(
      (r) =>
        r.source.kind === 'kernel' &&
        r.perRow === perRow &&
        r.values.length === values.length &&
        r.values.every((v, i) => v === values[i]),
    );
    let source: RegionSource = { kind: 'kernel' };
    if (!perRow) {
      if (constant && values[0] === 0) source = { kind: 'keep' };
    } else if (constant) source = { kind: 'fill', value: values[0] as number };
    else if (same) source = { kind: 'copy', of: same.key };
    out.push({ key, outputs, values, perRow, source });
  }
  return out;
}

/** Values a region holds at batch B and hidden size H. */
export const regionLength = (r: Region, B: number, H: number): number =>
  (r.perRow ? B : 1) * r.outputs.length * H;

/** Where each kernel region starts in the kernel's output, and the output's length. */
export function kernelOffsets(regions: readonly Region[], B: number, H: number) {
  const at = new Map<RegionKey, number>();
  let outLen = 0;
  for (const r of regions) {
    if (r.source.kind !== 'kernel') continue;
    at.set(r.key, outLen);
    outLen += regionLength(r, B, H);
  }
  return { at, outLen };
}
