import type { DeviceBuffer } from '@bistable/core';
import { isBufferView } from './buffer-view.js';
import type { Role, UniformField } from './runner.js';

type Vars = Readonly<Record<string, string>>;

/** Where one operand of every member of a run sits: member m's at element base + m·stride. */
export interface MemberPlace {
  base: number;
  stride: number;
}

/**
 * Members that one dispatch runs: each operand of all of them is a range of one buffer at a fixed
 * stride (an Ensemble's slabs and arena), so the kernel binds it once and indexes it by member.
 */
export interface MemberRun<A> {
  list: A[];
  /** By operand name, for the operands present. */
  places: Map<string, MemberPlace>;
}

/**
 * Splits `list` (members in order) into runs of neighbours that one dispatch can take: equal in
 * `sameShape`, and each operand either absent in all or, in all, a view of one parent whose
 * offsets step by one stride that keeps the members' ranges apart. A run of one is what cannot be
 * grouped (its member runs alone).
 */
export function memberRuns<A>(
  list: readonly A[],
  operands: (a: A) => Record<string, DeviceBuffer | null>,
  sameShape: (a: A, b: A) => boolean,
): MemberRun<A>[] {
  const runs: MemberRun<A>[] = [];
  let run: MemberRun<A> | null = null;
  for (const a of list) {
    const places = run ? extend(run, a, operands, sameShape) : null;
    if (run && places) {
      run.list.push(a);
      run.places = places;
    } else {
      run = { list: [a], places: new Map() };
      runs.push(run);
    }
  }
  return runs;
}

/** The run's places with `a` added, or null where `a` cannot join it. */
function extend<A>(
  run: MemberRun<A>,
  a: A,
  operands: (a: A) => Record<string, DeviceBuffer | null>,
  sameShape: (a: A, b: A) => boolean,
): Map<string, MemberPlace> | null {
  const first = run.list[0];
  if (!sameShape(first, a)) return null;
  const ops0 = operands(first);
  const opsA = operands(a);
  const k = run.list.length;
  const places = new Map<string, MemberPlace>();
  for (const [name, b0] of Object.entries(ops0)) {
    const bA = opsA[name] ?? null;
    if (b0 === null || bA === null) {
      if (b0 !== bA) return null;
      continue;
    }
    if (!isBufferView(b0) || !isBufferView(bA) || b0.root !== bA.root || b0.length !== bA.length) return null;
    const stride = k === 1 ? bA.offset - b0.offset : run.places.get(name)!.stride;
    // members in order, each range apart from the next
    if (stride < b0.length || bA.offset !== b0.offset + k * stride) return null;
    places.set(name, { base: b0.offset, stride });
  }
  return places;
}

/**
 * The uniforms of a kernel that runs M members: M, and for each bound operand its member 0
 * offset (o_<name>) and stride (s_<name>).
 */
export function memberUniforms(
  M: number,
  places: readonly (readonly [string, MemberPlace])[],
): UniformField[] {
  const out: UniformField[] = [{ name: 'M', type: 'u32', value: M }];
  for (const [n, p] of places)
    out.push(
      { name: `o_${n}`, type: 'u32', value: p.base },
      { name: `s_${n}`, type: 'u32', value: p.stride },
    );
  return out;
}

/**
 * WGSL that splits the flat index `flat` of a kernel over M members into member `mi` (returning
 * past the last) and the index `local` within the member's `per`, then defines the member's
 * offsets (memberOffsets). The return depends on the workgroup only where `flat` does.
 */
export const memberIndex = (flat: string, per: string, local: string, members: readonly string[]): string =>
  `  let flatAll = ${flat};
  let mi = flatAll / ${per};
  if (mi >= u.M) { return; }
  let ${local} = flatAll % ${per};
${memberOffsets(members)}`;

/** WGSL locals: member `mi`'s element offset in each named operand (o_<name>). */
const memberOffsets = (names: readonly string[]): string =>
  names.map((n) => `  let o_${n} = u.o_${n} + mi * u.s_${n};`).join('\n');

const TOKEN = 'MEMBER_OPERAND_';

/**
 * A kernel's code written for one member, rendered for a run: every index into a named operand
 * is offset by the member's o_<name> (which the entry point defines, memberOffsets). The code
 * sees each operand under a placeholder, so that operands sharing a binding (views of one parent)
 * still get their own offsets.
 */
export function memberCode(names: readonly string[], code: (v: Vars) => string): (v: Vars) => string {
  return (v) => {
    const marked: Record<string, string> = { ...v };
    for (const n of names) if (v[n]) marked[n] = `${TOKEN}${n}`;
    let src = code(marked);
    for (const n of names) if (v[n]) src = src.replaceAll(`${TOKEN}${n}[`, `${v[n]}[o_${n} + `);
    if (src.includes(TOKEN))
      throw new Error(`internal: an operand of a member kernel is used other than indexed`);
    return src;
  };
}

/** The operands of roles, by role name (what memberRuns checks). */
export const operandsOf = (roles: readonly Role[]): Record<string, DeviceBuffer | null> =>
  Object.fromEntries(roles.map((r) => [r.name, r.buf as DeviceBuffer | null]));

/** A run's kernel binds each operand's whole buffer, indexing it at each member's offset. */
export const wholeRoles = (roles: readonly Role[]): Role[] => roles.map((r) => ({ ...r, whole: true }));

/**
 * The names of the roles a kernel of `run` binds, and their member uniforms: each role's operand
 * place in the run (`operandOf` names the operand a role binds, where the two names differ), and
 * `own`'s places for the kernel's own buffers (aux).
 */
export function runUniforms<A>(
  run: MemberRun<A>,
  roles: readonly Role[],
  own: readonly (readonly [string, MemberPlace])[] = [],
  operandOf: (role: string) => string = (role) => role,
): { names: string[]; uniforms: UniformField[] } {
  const names = roles.filter((r) => r.buf !== null).map((r) => r.name);
  const placeOf = (n: string): MemberPlace => {
    const p = own.find(([o]) => o === n)?.[1] ?? run.places.get(operandOf(n));
    if (!p) throw new Error(`internal: operand ${n} of a member kernel has no place in its run`);
    return p;
  };
  return {
    names,
    uniforms: memberUniforms(
      run.list.length,
      names.map((n) => [n, placeOf(n)] as const),
    ),
  };
}
