import { memberIndex } from './member-kernels.js';

/**
 * Activations written out with exp: WGSL's builtin tanh may be computed as a ratio of
 * exponentials that overflows to NaN for large |x|, or with a fast approximation whose error
 * (about 2^-11) exceeds the float32 conformance tolerance. exp(-2|x|) never overflows.
 */
export const WGSL_MATH = `
fn sigm(x: f32) -> f32 { return 1.0 / (1.0 + exp(-x)); }
fn tanhx(x: f32) -> f32 {
  let e = exp(-2.0 * abs(x));
  return sign(x) * (1.0 - e) / (1.0 + e);
}
`;

/** Threads per workgroup of the elementwise kernels (one thread per element). */
export const FLAT_WG = 64;

/**
 * Entry point of an elementwise kernel: `idx` is the global thread index over workgroups folded
 * into x and y (the runner splits counts above the per-dimension limit), `u.n` the element count.
 * With `members` (a run of several models, member-kernels.ts) there are M·n threads: member
 * mi = thread / n takes element idx of its own operands, at offsets o_<name>.
 */
export function flatEntry(body: string, members: readonly string[] | null = null): string {
  return `
@compute @workgroup_size(${FLAT_WG})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>,
        @builtin(num_workgroups) nwg: vec3<u32>) {
${
  members
    ? memberIndex(`(wid.y * nwg.x + wid.x) * ${FLAT_WG}u + lid.x`, 'u.n', 'idx', members)
    : `  let idx = (wid.y * nwg.x + wid.x) * ${FLAT_WG}u + lid.x;
  if (idx >= u.n) { return; }`
}
${body}
}`;
}

export const flatGroups = (n: number): number => Math.ceil(n / FLAT_WG);

/** Repeats a template for 0..n-1 (code generation for small fixed gate counts). */
export function each(n: number, f: (i: number) => string, sep = '\n'): string {
  return Array.from({ length: n }, (_, i) => f(i)).join(sep);
}

/** The same for the given indices only (the blocks of a cell's inputs that its body reads). */
export function eachOf(ks: readonly number[], f: (k: number) => string): string {
  return ks.map(f).join('\n');
}
