import { CELLS, type CellName, type CellSpec } from '@bistable/core';

/**
 * The pointwise math of each cell in WGSL, a line-for-line transcription of the forward and the
 * hand-derived backward in core's cells/<cell>.ts (same cache layout, same gradient semantics).
 * The kernels wrap these bodies with loads and stores; inside a body these names are bound:
 *
 * forward  in:  P0..P{gx-1} (input projection, biases included), R0..R{gr-1} (h_prev @ wh + bh),
 *               M0..M{npw-1} (pointwise parameters), hp (h_prev), cp (c_prev, LSTM)
 *          out: hn, cn (LSTM), C0..C{cacheWidth-1}
 * backward in:  g (gradient reaching h_t), dc (reaching c_t, LSTM), hp, cp, C0.., M0..
 *          out: D0..D{gx-1} (dP), E0..E{gr-1} (dR), dhp (pointwise part of dL/dh_{t-1}),
 *               dcp (dL/dc_{t-1}, LSTM), W0..W{npw-1} (this row's share of dL/dpw)
 */
export interface CellWgsl {
  spec: CellSpec;
  forward: string;
  backward: string;
}

const nbrcLike = (rz: string, ra: string) => `
  let z = sigm(P0 + ${rz});
  let a = tanhx(P1 + ${ra}) + 1.0;
  let n = tanhx(P2 + a * hp);
  let hn = z * hp + (1.0 - z) * n;
  let C0 = z;
  let C1 = a;
  let C2 = n;`;

const nbrcLikeBackward = `
  let z = C0;
  let a = C1;
  let n = C2;
  let dzpre = g * (hp - n) * z * (1.0 - z);
  let dnpre = g * (1.0 - z) * (1.0 - n * n);
  let ta = a - 1.0;
  let dapre = dnpre * hp * (1.0 - ta * ta);
  let D0 = dzpre;
  let D1 = dapre;
  let D2 = dnpre;`;

const CELL_WGSL: Record<CellName, CellWgsl> = {
  BRC: {
    spec: CELLS.BRC,
    forward: nbrcLike('M0 * hp', 'M1 * hp'),
    backward: `${nbrcLikeBackward}
  let dhp = g * z + dnpre * a + dzpre * M0 + dapre * M1;
  let W0 = dzpre * hp;
  let W1 = dapre * hp;`,
  },
  nBRC: {
    spec: CELLS.nBRC,
    forward: nbrcLike('R0', 'R1'),
    backward: `${nbrcLikeBackward}
  let E0 = dzpre;
  let E1 = dapre;
  let dhp = g * z + dnpre * a;`,
  },
  GRU: {
    spec: CELLS.GRU,
    forward: `
  let rg = sigm(P0 + R0);
  let z = sigm(P1 + R1);
  let rn = R2;
  let n = tanhx(P2 + rg * rn);
  let hn = (1.0 - z) * n + z * hp;
  let C0 = rg;
  let C1 = z;
  let C2 = n;
  let C3 = rn;`,
    backward: `
  let rg = C0;
  let z = C1;
  let n = C2;
  let rn = C3;
  let dnpre = g * (1.0 - z) * (1.0 - n * n);
  let dzpre = g * (hp - n) * z * (1.0 - z);
  let drpre = dnpre * rn * rg * (1.0 - rg);
  let D0 = drpre;
  let D1 = dzpre;
  let D2 = dnpre;
  let E0 = drpre;
  let E1 = dzpre;
  let E2 = dnpre * rg;
  let dhp = g * z;`,
  },
  LSTM: {
    spec: CELLS.LSTM,
    forward: `
  let ig = sigm(P0 + R0);
  let fg = sigm(P1 + R1);
  let gg = tanhx(P2 + R2);
  let og = sigm(P3 + R3);
  let cn = fg * cp + ig * gg;
  let tc = tanhx(cn);
  let hn = og * tc;
  let C0 = ig;
  let C1 = fg;
  let C2 = gg;
  let C3 = og;
  let C4 = tc;`,
    backward: `
  let ig = C0;
  let fg = C1;
  let gg = C2;
  let og = C3;
  let tc = C4;
  let dct = dc + g * og * (1.0 - tc * tc);
  let di = dct * gg * ig * (1.0 - ig);
  let df = dct * cp * fg * (1.0 - fg);
  let dgg = dct * ig * (1.0 - gg * gg);
  let dog = g * tc * og * (1.0 - og);
  let D0 = di;
  let D1 = df;
  let D2 = dgg;
  let D3 = dog;
  let E0 = di;
  let E1 = df;
  let E2 = dgg;
  let E3 = dog;
  let dcp = dct * fg;
  let dhp = 0.0;`,
  },
};

export function cellWgsl(cell: CellName): CellWgsl {
  return CELL_WGSL[cell];
}
