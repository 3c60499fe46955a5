import type { CellSpec, DeviceBuffer, StepBackwardArgs, StepForwardArgs, StepKernels } from '@bistable/core';
import { cellWgsl, readsOf } from './cell-wgsl.js';
import { outputGroups } from './output-groups.js';
import { type Operand, wgslRunner } from './runner.js';
import { pwReduceCode } from './sequence-pointwise.js';
import { each, eachOf, flatEntry, flatGroups } from './wgsl-common.js';

type Buf = DeviceBuffer;
type Output = 'dP' | 'dR' | 'dhPrev' | 'dcPrev' | 'partial';

/**
 * Level 2: one time step's pointwise math as one dispatch, one thread per (row, unit). Core runs
 * the recurrent GEMM around it. The pointwise-parameter gradient sums over rows, which one
 * thread per element cannot do without atomics: each thread writes its row's share W to a
 * scratch buffer, and a second dispatch (one thread per parameter) adds the rows into dPw.
 */
export function webgpuStepKernels(spec: CellSpec): StepKernels {
  const cw = cellWgsl(spec);
  const { gx, gr, npw, cacheWidth: cwid, hasCellState: withC } = spec;
  const fr = cw.reads.forward;
  const fP = readsOf(fr, 'P', gx);
  const fR = readsOf(fr, 'R', gr);
  const fM = readsOf(fr, 'M', npw);
  const br = cw.reads.backward;
  const bC = readsOf(br, 'C', cwid);
  const bM = readsOf(br, 'M', npw);
  const [readsG, readsDc, readsHp, readsCp] = ['g', 'dc', 'hp', 'cp'].map((n) => br.has(n));

  // which outputs each backward dispatch stores, for the device's binding limit (planned once)
  let plan: { limit: number; groups: Output[][]; dRByCopy: boolean } | null = null;
  const planFor = (limit: number) => {
    if (plan?.limit === limit) return plan;
    // g = dhCarry + dOut: two bindings
    const inputs =
      (readsG ? 2 : 0) + [readsDc, bC.length > 0, readsHp, readsCp, bM.length > 0].filter(Boolean).length;
    const all: Output[] = ['dP'];
    if (gr > 0) all.push('dR');
    all.push('dhPrev');
    if (withC) all.push('dcPrev');
    if (npw > 0) all.push('partial');
    // LSTM's backward would bind 9 buffers, over WebGPU's default limit of 8; its dR is its dP
    const dRByCopy = spec.dREqualsDP && inputs + all.length > limit;
    const outputs = dRByCopy ? all.filter((o) => o !== 'dR') : all;
    plan = { limit, groups: outputGroups(inputs, outputs, limit), dRByCopy };
    return plan;
  };

  return {
    forward(a: StepForwardArgs<Buf>): void {
      const { B, H } = a;
      wgslRunner().run({
        key: `step-fwd/${cw.key}`,
        roles: [
          { name: 'p', buf: fP.length > 0 ? a.p : null, write: false },
          { name: 'r', buf: fR.length > 0 ? a.r : null, write: false },
          { name: 'pw', buf: fM.length > 0 ? a.pw : null, write: false },
          { name: 'hPrev', buf: fr.has('hp') ? a.hPrev : null, write: false },
          { name: 'cPrev', buf: fr.has('cp') ? a.cPrev : null, write: false },
          { name: 'hOut', buf: a.hOut, write: true },
          { name: 'cOut', buf: withC ? a.cOut : null, write: true },
          { name: 'cache', buf: cwid > 0 ? a.cache : null, write: true },
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
${eachOf(fP, (g) => `  let P${g} = ${v.p}[u.pOff + b * H * ${gx}u + ${g}u * H + j];`)}
${eachOf(fR, (g) => `  let R${g} = ${v.r}[u.rOff + b * H * ${gr}u + ${g}u * H + j];`)}
${eachOf(fM, (g) => `  let M${g} = ${v.pw}[${g}u * H + j];`)}
${fr.has('hp') ? `  let hp = ${v.hPrev}[u.hPrevOff + idx];` : ''}
${fr.has('cp') ? `  let cp = ${v.cPrev}[u.cPrevOff + idx];` : ''}
${cw.forward}
  ${v.hOut}[u.hOutOff + idx] = hn;
${withC ? `  ${v.cOut}[u.cOutOff + idx] = cn;` : ''}
${each(cwid, (k) => `  ${v.cache}[u.cacheOff + b * H * ${cwid}u + ${k}u * H + j] = C${k};`)}`),
      });
    },

    backward(a: StepBackwardArgs<Buf>): void {
      const { B, H } = a;
      const runner = wgslRunner();
      const { groups, dRByCopy } = planFor(runner.device.limits.maxStorageBuffersPerShaderStage);
      const partial = npw > 0 && a.dPw ? runner.scratch('pw-partial', B * npw * H) : null;
      const outBuf: Record<Output, Operand | null> = {
        dP: a.dP,
        dR: a.dR,
        dhPrev: a.dhPrev,
        dcPrev: a.dcPrev,
        partial,
      };
      groups.forEach((group, gi) => {
        const out = (o: Output) => (group.includes(o) ? outBuf[o] : null);
        if (group.every((o) => out(o) === null)) return;
        runner.run({
          key: `step-bwd/${cw.key}/${a.dOut ? 'dout' : 'nodout'}/${partial ? 'w' : '-'}/${gi}`,
          roles: [
            { name: 'dOut', buf: readsG ? a.dOut : null, write: false },
            { name: 'dhCarry', buf: readsG ? a.dhCarry : null, write: false },
            { name: 'dcCarry', buf: readsDc ? a.dcCarry : null, write: false },
            { name: 'cache', buf: bC.length > 0 ? a.cache : null, write: false },
            { name: 'hPrev', buf: readsHp ? a.hPrev : null, write: false },
            { name: 'cPrev', buf: readsCp ? a.cPrev : null, write: false },
            { name: 'pw', buf: bM.length > 0 ? a.pw : null, write: false },
            { name: 'dP', buf: out('dP'), write: true },
            { name: 'dR', buf: out('dR'), write: true },
            { name: 'dhPrev', buf: out('dhPrev'), write: true },
            { name: 'dcPrev', buf: out('dcPrev'), write: true },
            { name: 'partial', buf: out('partial'), write: true },
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
${readsG ? `  let g = ${v.dhCarry}[u.dhCarryOff + idx]${a.dOut ? ` + ${v.dOut}[u.dOutOff + idx]` : ''};` : ''}
${readsDc ? `  let dc = ${v.dcCarry}[u.dcCarryOff + idx];` : ''}
${readsHp ? `  let hp = ${v.hPrev}[u.hPrevOff + idx];` : ''}
${readsCp ? `  let cp = ${v.cPrev}[u.cPrevOff + idx];` : ''}
${eachOf(bC, (k) => `  let C${k} = ${v.cache}[u.cacheOff + b * H * ${cwid}u + ${k}u * H + j];`)}
${eachOf(bM, (k) => `  let M${k} = ${v.pw}[${k}u * H + j];`)}
${cw.backward}
${v.dP ? each(gx, (k) => `  ${v.dP}[u.dPOff + b * H * ${gx}u + ${k}u * H + j] = D${k};`) : ''}
${v.dR ? each(gr, (k) => `  ${v.dR}[u.dROff + b * H * ${gr}u + ${k}u * H + j] = E${k};`) : ''}
${v.dhPrev ? `  ${v.dhPrev}[u.dhPrevOff + idx] = dhp;` : ''}
${v.dcPrev ? `  ${v.dcPrev}[u.dcPrevOff + idx] = dcp;` : ''}
${v.partial ? each(npw, (k) => `  ${v.partial}[b * H * ${npw}u + ${k}u * H + j] = W${k};`) : ''}`),
        });
      });
      if (dRByCopy && a.dR) runner.copy(a.dP, a.dPOff, a.dR, a.dROff, B * gr * H);
      if (partial) {
        runner.run({
          key: 'step-dpw',
          roles: [
            { name: 'partial', buf: partial, write: false },
            { name: 'dPw', buf: a.dPw, write: true },
          ],
          uniforms: [
            { name: 'n', type: 'u32', value: npw * H },
            { name: 'B', type: 'u32', value: B },
            { name: 'off', type: 'u32', value: 0 },
          ],
          workgroups: flatGroups(npw * H),
          code: (v) => pwReduceCode(v, true),
        });
      }
    },
  };
}
