import type { DeviceBuffer, LinearLossArgs, LossGradientArgs } from '@bistable/core';
import {
  memberCode,
  memberIndex,
  memberRuns,
  operandsOf,
  runUniforms,
  wholeRoles,
} from './member-kernels.js';
import { type Operand, type Role, type UniformField, type WgslRunner, wgslRunner } from './runner.js';
import { flatEntry, flatGroups } from './wgsl-common.js';

/**
 * The gradient of a mean loss on the predictions, one dispatch: 2(p − y)/count (MSE) or
 * (σ(p) − y)/count (BCE on logits), core's mseLoss and bceWithLogitsLoss. With it on the device, a
 * training step never waits for its predictions before recording the backward.
 */
export function webgpuLossGradient(a: LossGradientArgs): void {
  if (a.n === 0) return;
  const mse = a.kind === 'mse';
  wgslRunner().run({
    key: `loss-grad/${a.kind}`,
    roles: [
      { name: 'pred', buf: a.pred, write: false },
      { name: 'target', buf: a.target, write: false },
      { name: 'grad', buf: a.grad, write: true },
    ],
    uniforms: [
      { name: 'n', type: 'u32', value: a.n },
      { name: 'scale', type: 'f32', value: (mse ? 2 : 1) / a.count },
    ],
    workgroups: flatGroups(a.n),
    code: (v) =>
      flatEntry(
        mse
          ? `  ${v.grad}[idx] = u.scale * (${v.pred}[idx] - ${v.target}[idx]);`
          : `  ${v.grad}[idx] = u.scale * (sigm(${v.pred}[idx]) - ${v.target}[idx]);`,
      ),
  });
}

/** Threads per workgroup of the fused readout (one workgroup per row). */
const LL_WG = 64;
/**
 * Outputs a workgroup finishes per pass: partial sums for that many outputs per thread sit in
 * workgroup memory (LL_WG · LL_OC floats, 4 KiB). A larger O takes several passes over the row,
 * each adding its outputs' share of dx, so any O works with the same memory.
 */
const LL_OC = 16;

const isCount = (v: number) => Number.isInteger(v) && v >= 0;

/**
 * A linear readout on N rows and its loss gradient in one dispatch (LinearLossArgs): y = x·wᵀ + b,
 * dy = 2(y − t)/count (MSE) or (σ(y) − t)/count (BCE on logits), dx = dy·w. One workgroup per row:
 * its threads split the F features, each forming partial dot products for up to LL_OC outputs at
 * once (x read once for all of them); a tree reduction in workgroup memory finishes them, the
 * first threads write y and dy and keep dy in workgroup memory, and after a barrier the threads
 * split the features again for dx. O beyond LL_OC takes further passes that add into dx (each
 * thread owns the same features in every pass, so it reads back only its own writes).
 */
export function webgpuLinearLoss(a: LinearLossArgs): void {
  checkLinearLoss(a);
  if (a.N === 0) return;
  const runner = wgslRunner();
  runner.run({
    key: `linear-loss/${a.kind}`,
    roles: linearLossRoles(runner, a),
    uniforms: linearLossUniforms(a),
    workgroups: a.N,
    code: (v) => linearLossCode(v, a.kind === 'mse', null),
  });
}

/**
 * The readouts of several models at once (an Ensemble's members, in order), each as
 * webgpuLinearLoss: runs of members whose operands lie at fixed strides in shared buffers
 * (member-kernels.ts) take one dispatch of M·N workgroups; the rest run one by one.
 */
export function webgpuLinearLossMany(list: readonly LinearLossArgs[]): void {
  for (const a of list) checkLinearLoss(a);
  const runner = wgslRunner();
  const same = (x: LinearLossArgs, y: LinearLossArgs) =>
    x.kind === y.kind &&
    x.N === y.N &&
    x.F === y.F &&
    x.O === y.O &&
    x.xOffset === y.xOffset &&
    x.count === y.count;
  // an operand left empty (F = 0 or O = 0) binds a stand-in, which is no view: that member runs alone
  const operands = (a: LinearLossArgs) => operandsOf(linearLossRoles(runner, a));
  for (const run of memberRuns(list, operands, same)) {
    const a = run.list[0];
    if (run.list.length === 1 || a.N === 0) {
      for (const m of run.list) webgpuLinearLoss(m);
      continue;
    }
    const roles = linearLossRoles(runner, a);
    const { names, uniforms } = runUniforms(run, roles);
    runner.run({
      key: `linear-loss-many/${a.kind}`,
      roles: wholeRoles(roles),
      uniforms: [...linearLossUniforms(a), ...uniforms],
      workgroups: run.list.length * a.N,
      code: memberCode(names, (v) => linearLossCode(v, a.kind === 'mse', names)),
    });
  }
}

/** Refuses sizes and buffers a readout cannot take (RangeError naming the problem). */
function checkLinearLoss(a: LinearLossArgs): void {
  const { N, F, O, xOffset, count } = a;
  for (const [name, v] of [
    ['N', N],
    ['F', F],
    ['O', O],
    ['xOffset', xOffset],
  ] as const) {
    if (!isCount(v)) throw new RangeError(`linearLoss: ${name} must be a whole number ≥ 0, got ${v}`);
  }
  if (!(count > 0)) throw new RangeError(`linearLoss: count must be positive, got ${count}`);
  const need: [string, { length: number }, number][] = [
    ['x', a.x, xOffset + N * F],
    ['w', a.w, O * F],
    ['b', a.b, O],
    ['target', a.target, N * O],
    ['y', a.y, N * O],
    ['dy', a.dy, N * O],
    ['dx', a.dx, N * F],
  ];
  for (const [name, buf, n] of need) {
    if (buf.length < n)
      throw new RangeError(
        `linearLoss: ${name} holds ${buf.length} values, needs ${n} (N=${N}, F=${F}, O=${O})`,
      );
  }
  const written = [a.y, a.dy, a.dx];
  const all = [a.x, a.w, a.b, a.target, ...written];
  for (const out of written) {
    if (all.filter((b) => b === out).length > 1)
      throw new RangeError('linearLoss: y, dy and dx must be buffers of their own (no aliasing)');
  }
}

function linearLossRoles(runner: WgslRunner, a: LinearLossArgs): Role[] {
  // WebGPU binds no empty buffer: one left empty by F = 0 or O = 0 (never indexed then) binds a
  // private one-value stand-in instead
  const op = (b: DeviceBuffer): Operand => (b.length === 0 ? runner.scratch('linear-loss/empty', 1) : b);
  return [
    { name: 'x', buf: op(a.x), write: false },
    { name: 'w', buf: op(a.w), write: false },
    { name: 'b', buf: op(a.b), write: false },
    { name: 'target', buf: op(a.target), write: false },
    { name: 'y', buf: op(a.y), write: true },
    { name: 'dy', buf: op(a.dy), write: true },
    { name: 'dx', buf: op(a.dx), write: true },
  ];
}

function linearLossUniforms(a: LinearLossArgs): UniformField[] {
  return [
    { name: 'N', type: 'u32', value: a.N },
    { name: 'F', type: 'u32', value: a.F },
    { name: 'O', type: 'u32', value: a.O },
    { name: 'xOffset', type: 'u32', value: a.xOffset },
    { name: 'passes', type: 'u32', value: Math.max(1, Math.ceil(a.O / LL_OC)) },
    { name: 'scale', type: 'f32', value: (a.kind === 'mse' ? 2 : 1) / a.count },
  ];
}

/**
 * The readout kernel (see webgpuLinearLoss). With `members` (a run of several models) there are
 * M·N workgroups: member mi = workgroup / N takes row `row` of its own operands, at offsets o_<name>.
 */
function linearLossCode(
  v: Readonly<Record<string, string>>,
  mse: boolean,
  members: readonly string[] | null,
): string {
  return `
var<workgroup> part: array<f32, ${LL_WG * LL_OC}>;
var<workgroup> dys: array<f32, ${LL_OC}>;
@compute @workgroup_size(${LL_WG})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>,
        @builtin(num_workgroups) nwg: vec3<u32>) {
${
  members
    ? memberIndex('wid.y * nwg.x + wid.x', 'u.N', 'row', members)
    : `  let row = wid.y * nwg.x + wid.x;
  if (row >= u.N) { return; }`
}
  let t = lid.x;
  let xBase = u.xOffset + row * u.F;
  for (var p = 0u; p < u.passes; p++) {
    let o0 = p * ${LL_OC}u;
    let oc = min(${LL_OC}u, u.O - min(o0, u.O));
    // partial dot products of this thread's features with outputs o0 .. o0 + oc
    // initialised explicitly: lavapipe (Dawn) carried an uninitialised one over between passes
    var acc = array<f32, ${LL_OC}>();
    for (var f = t; f < u.F; f += ${LL_WG}u) {
      let xv = ${v.x}[xBase + f];
      for (var j = 0u; j < oc; j++) { acc[j] += xv * ${v.w}[(o0 + j) * u.F + f]; }
    }
    for (var j = 0u; j < oc; j++) { part[j * ${LL_WG}u + t] = acc[j]; }
    workgroupBarrier();
    for (var s = ${LL_WG / 2}u; s > 0u; s >>= 1u) {
      for (var i = t; i < oc * s; i += ${LL_WG}u) {
        let at = (i / s) * ${LL_WG}u + i % s;
        part[at] += part[at + s];
      }
      workgroupBarrier();
    }
    if (t < oc) {
      let o = o0 + t;
      let yv = part[t * ${LL_WG}u] + ${v.b}[o];
      let k = row * u.O + o;
      let g = u.scale * (${mse ? 'yv' : 'sigm(yv)'} - ${v.target}[k]);
      ${v.y}[k] = yv;
      ${v.dy}[k] = g;
      dys[t] = g;
    }
    workgroupBarrier();
    for (var f = t; f < u.F; f += ${LL_WG}u) {
      var s = 0.0;
      for (var j = 0u; j < oc; j++) { s += dys[j] * ${v.w}[(o0 + j) * u.F + f]; }
      let at = row * u.F + f;
      if (p == 0u) { ${v.dx}[at] = s; } else { ${v.dx}[at] += s; }
    }
    // the next pass reuses part and dys
    workgroupBarrier();
  }
}`;
}
