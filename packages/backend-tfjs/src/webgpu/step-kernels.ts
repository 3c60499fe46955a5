import type { CellName, DeviceBuffer, StepBackwardArgs, StepForwardArgs, StepKernels } from '@bistable/core';
import { cellWgsl } from './cell-wgsl.js';
import { wgslRunner } from './runner.js';
import { each, flatEntry, flatGroups } from './wgsl-common.js';

type Buf = DeviceBuffer;

/**
 * Level 2: one time step's pointwise math as one dispatch, one thread per (row, unit). Core runs
 * the recurrent GEMM around it. BRC's pointwise-parameter gradient sums over rows, which one
 * thread per element cannot do without atomics; a second dispatch (one thread per parameter)
 * adds Σ_b dP·h_prev into dPw.
 */
export function webgpuStepKernels(cell: CellName): StepKernels {
  const { spec, forward, backward } = cellWgsl(cell);
  const { gx, gr, npw, cacheWidth: cw, hasCellState: lstm } = spec;
  // LSTM's backward would bind 10 buffers, over WebGPU's default limit of 8. It reads no h_prev,
  // and its dR equals its dP (cells/lstm.ts), so dR is copied from dP instead of bound.
  const dRFromDP = cell === 'LSTM';

  return {
    forward(a: StepForwardArgs<Buf>): void {
      const { B, H } = a;
      wgslRunner().run({
        key: `step-fwd/${cell}`,
        roles: [
          { name: 'p', buf: a.p, write: false },
          { name: 'r', buf: gr > 0 ? a.r : null, write: false },
          { name: 'pw', buf: npw > 0 ? a.pw : null, write: false },
          { name: 'hPrev', buf: a.hPrev, write: false },
          { name: 'cPrev', buf: lstm ? a.cPrev : null, write: false },
          { name: 'hOut', buf: a.hOut, write: true },
          { name: 'cOut', buf: lstm ? a.cOut : null, write: true },
          { name: 'cache', buf: a.cache, write: true },
        ],
        uniforms: [
          { name: 'n', type: 'u32', value: B * H },
          { name: 'H', type: 'u32', value: H },
          { name: 'pOff', type: 'u32', value: a.pOff },
          { name: 'rOff', type: 'u32', value: a.rOff },
          { name: 'hPrevOff', type: 'u32', value: a.hPrevOff },
          { name: 'cPrevOff', type: 'u32', value: a.cPrevOff },
          { name: 'hOutOff', type: 'u32', value: a.hOutOff },
          { name: 'cOutOff', type: 'u32', value: a.cOutOff },
          { name: 'cacheOff', type: 'u32', value: a.cacheOff },
        ],
        workgroups: flatGroups(B * H),
        code: (v) =>
          flatEntry(`
  let H = u.H;
  let b = idx / H;
  let j = idx % H;
${each(gx, (g) => `  let P${g} = ${v.p}[u.pOff + b * H * ${gx}u + ${g}u * H + j];`)}
${each(gr, (g) => `  let R${g} = ${v.r}[u.rOff + b * H * ${gr}u + ${g}u * H + j];`)}
${each(npw, (g) => `  let M${g} = ${v.pw}[${g}u * H + j];`)}
  let hp = ${v.hPrev}[u.hPrevOff + idx];
  let cp = ${lstm ? `${v.cPrev}[u.cPrevOff + idx]` : '0.0'};
${forward}
  ${v.hOut}[u.hOutOff + idx] = hn;
${lstm ? `  ${v.cOut}[u.cOutOff + idx] = cn;` : ''}
${each(cw, (k) => `  ${v.cache}[u.cacheOff + b * H * ${cw}u + ${k}u * H + j] = C${k};`)}`),
      });
    },

    backward(a: StepBackwardArgs<Buf>): void {
      const { B, H } = a;
      const runner = wgslRunner();
      runner.run({
        key: `step-bwd/${cell}/${a.dOut ? 'dout' : 'nodout'}`,
        roles: [
          { name: 'dOut', buf: a.dOut, write: false },
          { name: 'dhCarry', buf: a.dhCarry, write: false },
          { name: 'dcCarry', buf: lstm ? a.dcCarry : null, write: false },
          { name: 'cache', buf: a.cache, write: false },
          { name: 'hPrev', buf: lstm ? null : a.hPrev, write: false },
          { name: 'cPrev', buf: lstm ? a.cPrev : null, write: false },
          { name: 'pw', buf: npw > 0 ? a.pw : null, write: false },
          { name: 'dP', buf: a.dP, write: true },
          { name: 'dR', buf: gr > 0 && !dRFromDP ? a.dR : null, write: true },
          { name: 'dhPrev', buf: a.dhPrev, write: true },
          { name: 'dcPrev', buf: lstm ? a.dcPrev : null, write: true },
        ],
        uniforms: [
          { name: 'n', type: 'u32', value: B * H },
          { name: 'H', type: 'u32', value: H },
          { name: 'dOutOff', type: 'u32', value: a.dOutOff },
          { name: 'dhCarryOff', type: 'u32', value: a.dhCarryOff },
          { name: 'dcCarryOff', type: 'u32', value: a.dcCarryOff },
          { name: 'cacheOff', type: 'u32', value: a.cacheOff },
          { name: 'hPrevOff', type: 'u32', value: a.hPrevOff },
          { name: 'cPrevOff', type: 'u32', value: a.cPrevOff },
          { name: 'dPOff', type: 'u32', value: a.dPOff },
          { name: 'dROff', type: 'u32', value: a.dROff },
          { name: 'dhPrevOff', type: 'u32', value: a.dhPrevOff },
          { name: 'dcPrevOff', type: 'u32', value: a.dcPrevOff },
        ],
        workgroups: flatGroups(B * H),
        code: (v) =>
          flatEntry(`
  let H = u.H;
  let b = idx / H;
  let j = idx % H;
  let g = ${v.dhCarry}[u.dhCarryOff + idx]${a.dOut ? ` + ${v.dOut}[u.dOutOff + idx]` : ''};
  let dc = ${lstm ? `${v.dcCarry}[u.dcCarryOff + idx]` : '0.0'};
  let hp = ${lstm ? '0.0' : `${v.hPrev}[u.hPrevOff + idx]`};
  let cp = ${lstm ? `${v.cPrev}[u.cPrevOff + idx]` : '0.0'};
${each(cw, (k) => `  let C${k} = ${v.cache}[u.cacheOff + b * H * ${cw}u + ${k}u * H + j];`)}
${each(npw, (k) => `  let M${k} = ${v.pw}[${k}u * H + j];`)}
${backward}
${each(gx, (k) => `  ${v.dP}[u.dPOff + b * H * ${gx}u + ${k}u * H + j] = D${k};`)}
${dRFromDP ? '' : each(gr, (k) => `  ${v.dR}[u.dROff + b * H * ${gr}u + ${k}u * H + j] = E${k};`)}
  ${v.dhPrev}[u.dhPrevOff + idx] = dhp;
${lstm ? `  ${v.dcPrev}[u.dcPrevOff + idx] = dcp;` : ''}`),
      });
      if (dRFromDP && a.dR) runner.copy(a.dP, a.dPOff, a.dR, a.dROff, B * gr * H);
      if (npw > 0) {
        // BRC: W_k = dP_k · h_prev (cells/brc.ts), summed over the rows of this step
        runner.run({
          key: `step-dpw/${cell}`,
          roles: [
            { name: 'dP', buf: a.dP, write: false },
            { name: 'hPrev', buf: a.hPrev, write: false },
            { name: 'dPw', buf: a.dPw, write: true },
          ],
          uniforms: [
            { name: 'n', type: 'u32', value: npw * H },
            { name: 'H', type: 'u32', value: H },
            { name: 'B', type: 'u32', value: B },
            { name: 'dPOff', type: 'u32', value: a.dPOff },
            { name: 'hPrevOff', type: 'u32', value: a.hPrevOff },
          ],
          workgroups: flatGroups(npw * H),
          code: (v) =>
            flatEntry(`
  let H = u.H;
  let j = idx % H;
  var acc = 0.0;
  for (var b = 0u; b < u.B; b++) {
    acc += ${v.dP}[u.dPOff + b * H * ${gx}u + idx] * ${v.hPrev}[u.hPrevOff + b * H + j];
  }
  ${v.dPw}[idx] += acc;`),
        });
      }
    },
  };
}
