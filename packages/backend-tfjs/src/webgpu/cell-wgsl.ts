import { type CellSpec, type Dialect, renderStatements } from '@bistable/core';

/**
 * A cell's pointwise math in WGSL, rendered from its recipe (CellSpec.program). The kernels wrap
 * these bodies with loads and stores under core's name contract (cells/recipe/program.ts):
 *
 * forward  in:  P0..P{gx-1}, R0..R{gr-1}, M0..M{npw-1}, hp, cp (cells with a c)
 *          out: hn, cn (cells with a c), C0..C{cacheWidth-1}
 * backward in:  g, dc, hp, cp, C0.., M0..
 *          out: D0..D{gx-1}, E0..E{gr-1}, dhp, dcp (cells with a c), W0..W{npw-1}
 *
 * A body reads only the inputs its program lists (`reads`): a kernel binds a buffer only when a
 * body reads from it, since a pipeline's automatic layout drops bindings no code names.
 */
export interface CellWgsl {
  spec: CellSpec;
  /**
   * Names the cell in pipeline keys: one per CellSpec object, since two cells made with
   * defineCell may share a name (one of them unregistered) and differ in their math.
   */
  key: string;
  forward: string;
  backward: string;
  reads: { forward: ReadonlySet<string>; backward: ReadonlySet<string> };
}

/** A float literal WGSL reads as f32: `1` alone would be an integer. */
export function wgslLiteral(v: number): string {
  const s = Object.is(v, -0) ? '0' : String(v);
  const f = /[.eE]/.test(s) ? s : `${s}.0`;
  // parenthesised, so that `-x` of a negative literal cannot read as the `--` token
  return v < 0 ? `(${f})` : f;
}

// temporaries as cv0, cv1, …: the kernels' own locals (t0, the first step) would clash with t0, t1, …
const WGSL: Dialect = { decl: 'let', literal: wgslLiteral, sigmoid: 'sigm', tanh: 'tanhx', temp: 'cv' };

const rendered = new WeakMap<CellSpec, CellWgsl>();
let specs = 0;

/** The WGSL bodies of any cell made with defineCell, rendered once per CellSpec object. */
export function cellWgsl(spec: CellSpec): CellWgsl {
  let cw = rendered.get(spec);
  if (!cw) {
    const { forward, backward } = spec.program;
    cw = {
      spec,
      key: `${spec.name}#${specs++}`,
      forward: renderStatements(forward, WGSL, '  '),
      backward: renderStatements(backward, WGSL, '  '),
      reads: { forward: new Set(forward.inputs), backward: new Set(backward.inputs) },
    };
    rendered.set(spec, cw);
  }
  return cw;
}

/** Which of a block's inputs (P, R, M or C, `count` of them) a body reads. */
export function readsOf(reads: ReadonlySet<string>, letter: string, count: number): number[] {
  return Array.from({ length: count }, (_, k) => k).filter((k) => reads.has(`${letter}${k}`));
}
