// The pointwise math of each cell on four hidden units at a time: the same equations, cache
// layout and gradient semantics as core's src/cells/*.ts (read those for the derivations).
// Operands are passed as a pointer to unit j of gate 0 plus the byte stride between gates, so a
// row's body (stride H·4) and its remainder (gathered into a staging block, stride 16) share code.
// The cells' recipes (src/cells/*.ts) are the source of truth: the shape tables below are exported
// from the module and checked against the recipes' CellSpecs by test/cpu-wasm-tables.test.ts, and
// the kernels' arithmetic against core's host functions by the step kit (test/step-kit.test.ts).
import { flush4, one, sig4, tanh4 } from './simd-math';

export const CELL_BRC: i32 = 0;
export const CELL_NBRC: i32 = 1;
export const CELL_GRU: i32 = 2;
export const CELL_LSTM: i32 = 3;

/** Input projection width (gx), recurrent width (gr), cache width, pointwise vectors (npw). */
export function cellGx(cell: i32): i32 {
  return cell == CELL_LSTM ? 4 : 3;
}
export function cellGr(cell: i32): i32 {
  return cell == CELL_BRC ? 0 : cell == CELL_NBRC ? 2 : cell == CELL_GRU ? 3 : 4;
}
export function cellCache(cell: i32): i32 {
  return cell == CELL_GRU ? 4 : cell == CELL_LSTM ? 5 : 3;
}
export function cellNpw(cell: i32): i32 {
  return cell == CELL_BRC ? 2 : 0;
}
/** Input-bias width (nbx: the first nbx·H projection columns have a bias) and whether bh exists. */
export function cellNbx(cell: i32): i32 {
  return cell == CELL_GRU ? 3 : cell == CELL_LSTM ? 4 : 2;
}
export function cellHasBh(cell: i32): bool {
  return cell == CELL_GRU || cell == CELL_LSTM;
}

@inline
function ld(p: usize, g: usize): v128 {
  return v128.load(p + g);
}

// ---------------------------------------------------------------- forward, four units

// Each forward splits in two passes over a row: the gates that need only the projections, then
// the state update that needs them. One pass per unit made a dependency chain of three gate
// functions in series that the out-of-order window could not overlap across units; two passes
// took a GRU row from 13.7 to 11.3 ns per four units (Zen 5, Node 20). Pass one leaves its gates
// in the cache, where pass two reads them back from L1.

/** BRC/nBRC gates: z = σ(pz), a = tanh(pa) + 1, into cache slots 0 and 1. */
@inline
function bistableGates4(pz: v128, pa: v128, c: usize, cg: usize): void {
  v128.store(c, sig4(pz));
  v128.store(c + cg, f32x4.add(tanh4(pa), one()));
}

/** BRC/nBRC state: n = tanh(Ph + a·h), h' = z·h + (1 − z)·n; n into cache slot 2. */
@inline
export function bistableState4(p: usize, pg: usize, h: usize, ho: usize, c: usize, cg: usize): void {
  const hv = v128.load(h);
  const z = ld(c, 0);
  const n = tanh4(f32x4.add(ld(p, 2 * pg), f32x4.mul(ld(c, cg), hv)));
  v128.store(ho, flush4(f32x4.add(f32x4.mul(z, hv), f32x4.mul(f32x4.sub(one(), z), n))));
  v128.store(c + 2 * cg, n);
}

/** nBRC: R = h @ [memoryz | memoryr] comes from the recurrent GEMM. */
@inline
export function nbrcGates4(p: usize, pg: usize, r: usize, rg: usize, c: usize, cg: usize): void {
  bistableGates4(f32x4.add(ld(p, 0), ld(r, 0)), f32x4.add(ld(p, pg), ld(r, rg)), c, cg);
}

/** BRC: the memories are per-unit vectors m (stride mg), so the recurrence is pointwise. */
@inline
export function brcGates4(p: usize, pg: usize, m: usize, mg: usize, h: usize, c: usize, cg: usize): void {
  const hv = v128.load(h);
  bistableGates4(f32x4.add(ld(p, 0), f32x4.mul(ld(m, 0), hv)), f32x4.add(ld(p, pg), f32x4.mul(ld(m, mg), hv)), c, cg);
}

/** GRU (r, z, n) gates r = σ(Pr + Rr), z = σ(Pz + Rz); cache [r | z | n | Rn]. */
@inline
export function gruGates4(p: usize, pg: usize, r: usize, rg: usize, c: usize, cg: usize): void {
  v128.store(c, sig4(f32x4.add(ld(p, 0), ld(r, 0))));
  v128.store(c + cg, sig4(f32x4.add(ld(p, pg), ld(r, rg))));
}

/** GRU state: n = tanh(Pn + r·Rn), h' = (1 − z)·n + z·h. */
@inline
export function gruState4(p: usize, pg: usize, r: usize, rg: usize, h: usize, ho: usize, c: usize, cg: usize): void {
  const z = ld(c, cg);
  const rn = ld(r, 2 * rg);
  const n = tanh4(f32x4.add(ld(p, 2 * pg), f32x4.mul(ld(c, 0), rn)));
  v128.store(ho, flush4(f32x4.add(f32x4.mul(f32x4.sub(one(), z), n), f32x4.mul(z, v128.load(h)))));
  v128.store(c + 2 * cg, n);
  v128.store(c + 3 * cg, rn);
}

/** LSTM (i, f, g, o) gates; cache [i | f | g | o | tanh c']. */
@inline
export function lstmGates4(p: usize, pg: usize, r: usize, rg: usize, c: usize, cg: usize): void {
  v128.store(c, sig4(f32x4.add(ld(p, 0), ld(r, 0))));
  v128.store(c + cg, sig4(f32x4.add(ld(p, pg), ld(r, rg))));
  v128.store(c + 2 * cg, tanh4(f32x4.add(ld(p, 2 * pg), ld(r, 2 * rg))));
  v128.store(c + 3 * cg, sig4(f32x4.add(ld(p, 3 * pg), ld(r, 3 * rg))));
}

/** LSTM state: c' = f·c + i·g, h' = o·tanh(c'). */
@inline
export function lstmState4(cp: usize, co: usize, ho: usize, c: usize, cg: usize): void {
  const cn = flush4(f32x4.add(f32x4.mul(ld(c, cg), v128.load(cp)), f32x4.mul(ld(c, 0), ld(c, 2 * cg))));
  const tc = tanh4(cn);
  v128.store(co, cn);
  v128.store(ho, flush4(f32x4.mul(ld(c, 3 * cg), tc)));
  v128.store(c + 4 * cg, tc);
}

// ---------------------------------------------------------------- backward, four units

/** The gradient reaching h_t: the carry plus the output gradient when there is one. */
@inline
function incoming(dout: usize, dh: usize): v128 {
  const g = v128.load(dh);
  return dout != 0 ? f32x4.add(g, v128.load(dout)) : g;
}

/**
 * nBRC: writes dP = [dz | da | dn], dR = [dz | da], and the pointwise dL/dh_{t-1}.
 * dz = g(h − n)z(1 − z), dn = g(1 − z)(1 − n²), da = dn·h·(1 − (a − 1)²).
 */
@inline
export function nbrcBwd4(
  dout: usize,
  dh: usize,
  h: usize,
  c: usize,
  cg: usize,
  dp: usize,
  dpg: usize,
  dr: usize,
  drg: usize,
  dhp: usize,
): void {
  const g = incoming(dout, dh);
  const hv = v128.load(h);
  const z = ld(c, 0);
  const a = ld(c, cg);
  const n = ld(c, 2 * cg);
  const omz = f32x4.sub(one(), z);
  const dz = flush4(f32x4.mul(f32x4.mul(g, f32x4.sub(hv, n)), f32x4.mul(z, omz)));
  const dn = flush4(f32x4.mul(f32x4.mul(g, omz), f32x4.sub(one(), f32x4.mul(n, n))));
  const t = f32x4.sub(a, one());
  const da = flush4(f32x4.mul(f32x4.mul(dn, hv), f32x4.sub(one(), f32x4.mul(t, t))));
  v128.store(dp, dz);
  v128.store(dp + dpg, da);
  v128.store(dp + 2 * dpg, dn);
  v128.store(dr, dz);
  v128.store(dr + drg, da);
  v128.store(dhp, flush4(f32x4.add(f32x4.mul(g, z), f32x4.mul(dn, a))));
}

/** BRC: as nBRC, with the memories' terms in dL/dh_{t-1} and their gradient accumulated in dpw. */
@inline
export function brcBwd4(
  dout: usize,
  dh: usize,
  h: usize,
  c: usize,
  cg: usize,
  dp: usize,
  dpg: usize,
  m: usize,
  mg: usize,
  dhp: usize,
  dpw: usize,
): void {
  const g = incoming(dout, dh);
  const hv = v128.load(h);
  const z = ld(c, 0);
  const a = ld(c, cg);
  const n = ld(c, 2 * cg);
  const omz = f32x4.sub(one(), z);
  const dz = flush4(f32x4.mul(f32x4.mul(g, f32x4.sub(hv, n)), f32x4.mul(z, omz)));
  const dn = flush4(f32x4.mul(f32x4.mul(g, omz), f32x4.sub(one(), f32x4.mul(n, n))));
  const t = f32x4.sub(a, one());
  const da = flush4(f32x4.mul(f32x4.mul(dn, hv), f32x4.sub(one(), f32x4.mul(t, t))));
  v128.store(dp, dz);
  v128.store(dp + dpg, da);
  v128.store(dp + 2 * dpg, dn);
  const direct = f32x4.add(f32x4.mul(g, z), f32x4.mul(dn, a));
  const viaMemory = f32x4.add(f32x4.mul(dz, ld(m, 0)), f32x4.mul(da, ld(m, mg)));
  v128.store(dhp, flush4(f32x4.add(direct, viaMemory)));
  v128.store(dpw, f32x4.add(ld(dpw, 0), f32x4.mul(dz, hv)));
  v128.store(dpw + mg, f32x4.add(ld(dpw, mg), f32x4.mul(da, hv)));
}

/** GRU: dP = [dr | dz | dn], dR = [dr | dz | dn·r], dL/dh_{t-1} pointwise part g·z. */
@inline
export function gruBwd4(
  dout: usize,
  dh: usize,
  h: usize,
  c: usize,
  cg: usize,
  dp: usize,
  dpg: usize,
  dr: usize,
  drg: usize,
  dhp: usize,
): void {
  const g = incoming(dout, dh);
  const hv = v128.load(h);
  const rgate = ld(c, 0);
  const z = ld(c, cg);
  const n = ld(c, 2 * cg);
  const rn = ld(c, 3 * cg);
  const dn = flush4(f32x4.mul(f32x4.mul(g, f32x4.sub(one(), z)), f32x4.sub(one(), f32x4.mul(n, n))));
  const dz = flush4(f32x4.mul(f32x4.mul(g, f32x4.sub(hv, n)), f32x4.mul(z, f32x4.sub(one(), z))));
  const drp = flush4(f32x4.mul(f32x4.mul(dn, rn), f32x4.mul(rgate, f32x4.sub(one(), rgate))));
  v128.store(dp, drp);
  v128.store(dp + dpg, dz);
  v128.store(dp + 2 * dpg, dn);
  v128.store(dr, drp);
  v128.store(dr + drg, dz);
  v128.store(dr + 2 * drg, flush4(f32x4.mul(dn, rgate)));
  v128.store(dhp, flush4(f32x4.mul(g, z)));
}

/** LSTM: dP = dR = [di | df | dg | do], dL/dc_{t-1} = dct·f, pointwise dL/dh_{t-1} = 0. */
@inline
export function lstmBwd4(
  dout: usize,
  dh: usize,
  dc: usize,
  c: usize,
  cg: usize,
  cp: usize,
  dp: usize,
  dpg: usize,
  dr: usize,
  drg: usize,
  dhp: usize,
  dcp: usize,
): void {
  const gh = incoming(dout, dh);
  const i = ld(c, 0);
  const f = ld(c, cg);
  const g = ld(c, 2 * cg);
  const o = ld(c, 3 * cg);
  const tc = ld(c, 4 * cg);
  const dct = f32x4.add(v128.load(dc), f32x4.mul(f32x4.mul(gh, o), f32x4.sub(one(), f32x4.mul(tc, tc))));
  const di = flush4(f32x4.mul(f32x4.mul(dct, g), f32x4.mul(i, f32x4.sub(one(), i))));
  const df = flush4(f32x4.mul(f32x4.mul(dct, v128.load(cp)), f32x4.mul(f, f32x4.sub(one(), f))));
  const dg = flush4(f32x4.mul(f32x4.mul(dct, i), f32x4.sub(one(), f32x4.mul(g, g))));
  const dO = flush4(f32x4.mul(f32x4.mul(gh, tc), f32x4.mul(o, f32x4.sub(one(), o))));
  v128.store(dp, di);
  v128.store(dp + dpg, df);
  v128.store(dp + 2 * dpg, dg);
  v128.store(dp + 3 * dpg, dO);
  v128.store(dr, di);
  v128.store(dr + drg, df);
  v128.store(dr + 2 * drg, dg);
  v128.store(dr + 3 * drg, dO);
  v128.store(dcp, flush4(f32x4.mul(dct, f)));
  v128.store(dhp, f32x4.splat(0));
}
