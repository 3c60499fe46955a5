import { InputError } from '../../backend/errors.js';
import { describe, type Graph, type Node, topoOrder } from './graph.js';

/** What the forward defines: the new state and the values it saves for the backward. */
export interface ForwardGraph {
  h: Node;
  c: Node | null;
  cache: readonly Node[];
}

/** The backward's outputs by program name (D*, E*, dhp, dcp, W*), zero where a value gets none. */
export type BackwardOutputs = Map<string, Node>;

/**
 * Reverse-mode differentiation of a cell's forward, symbolically: the adjoint of every node, in
 * terms of what the backward can read (g, dc, hp, cp, the pointwise parameters and the cache).
 * Each derivative needs some forward values (an activation's output, a product's other factor);
 * `recover` finds them in the cache or rebuilds them from what is there, and a value that
 * depends on the projections and cannot be rebuilt is an error that names it.
 */
export function deriveBackward(
  cell: string,
  g: Graph,
  fwd: ForwardGraph,
  counts: { gx: number; gr: number; npw: number },
): BackwardOutputs {
  const roots = fwd.c ? [fwd.h, fwd.c] : [fwd.h];
  const order = topoOrder(roots);
  const recover = recoverer(cell, g, fwd, order);
  const adj = new Map<number, Node>();
  const add = (n: Node, d: Node) => {
    if (n.kind === 'const') return;
    const prev = adj.get(n.id);
    adj.set(n.id, prev ? g.op('add', prev, d) : d);
  };
  add(fwd.h, g.input('g'));
  if (fwd.c) add(fwd.c, g.input('dc'));
  for (let i = order.length - 1; i >= 0; i--) {
    const n = order[i];
    const a = adj.get(n.id);
    if (!a || n.kind !== 'op') continue;
    const [x, y] = n.args;
    switch (n.op) {
      case 'add':
        add(x, a);
        add(y, a);
        break;
      case 'sub':
        add(x, a);
        add(y, g.op('neg', a));
        break;
      case 'neg':
        add(x, g.op('neg', a));
        break;
      case 'mul':
        if (x.kind !== 'const') add(x, g.op('mul', a, recover(y)));
        if (y.kind !== 'const') add(y, g.op('mul', a, recover(x)));
        break;
      case 'sigmoid': {
        const s = recover(n);
        add(x, g.op('mul', a, g.op('mul', s, g.op('sub', g.constant(1), s))));
        break;
      }
      case 'tanh': {
        const t = recover(n);
        add(x, g.op('mul', a, g.op('sub', g.constant(1), g.op('mul', t, t))));
        break;
      }
    }
  }
  const zero = g.constant(0);
  const grad = (name: string) => adj.get(g.input(name).id) ?? zero;
  const out: BackwardOutputs = new Map();
  for (let k = 0; k < counts.gx; k++) out.set(`D${k}`, grad(`P${k}`));
  for (let k = 0; k < counts.gr; k++) out.set(`E${k}`, grad(`R${k}`));
  out.set('dhp', grad('hp'));
  if (fwd.c) out.set('dcp', grad('cp'));
  for (let k = 0; k < counts.npw; k++) out.set(`W${k}`, grad(`M${k}`));
  return out;
}

/** Forward inputs the backward cannot read: this step's projections. */
const projection = (n: Node) => n.kind === 'input' && /^[PR]\d+$/.test(n.name);

function recoverer(cell: string, g: Graph, fwd: ForwardGraph, order: Node[]): (n: Node) => Node {
  const cached = new Map<number, number>();
  for (const [i, n] of fwd.cache.entries()) cached.set(n.id, i);
  // who uses each node, for rebuilding a value from a saved one it was offset into (a = t + 1)
  const users = new Map<number, Node[]>();
  for (const n of order) {
    if (n.kind !== 'op') continue;
    for (const a of n.args) users.set(a.id, [...(users.get(a.id) ?? []), n]);
  }
  const memo = new Map<number, Node | null>();
  const busy = new Set<number>();
  const find = (n: Node): Node | null => {
    if (memo.has(n.id)) return memo.get(n.id)!;
    if (busy.has(n.id)) return null;
    busy.add(n.id);
    let r: Node | null = null;
    const slot = cached.get(n.id);
    if (slot !== undefined) r = g.input(`C${slot}`);
    else if (n.kind === 'const') r = n;
    else if (n.kind === 'input') r = projection(n) ? null : n;
    else {
      const args = n.args.map(find);
      if (args.every((a) => a !== null)) r = g.op(n.op, ...(args as Node[]));
      else r = invert(n);
    }
    busy.delete(n.id);
    memo.set(n.id, r);
    return r;
  };
  // n from a user u = n ± k or k − n whose value and other operand are both recoverable
  const invert = (n: Node): Node | null => {
    for (const u of users.get(n.id) ?? []) {
      if (u.kind !== 'op' || (u.op !== 'add' && u.op !== 'sub')) continue;
      const [x, y] = u.args;
      const other = x === n ? y : x;
      if (other === n) continue;
      const ru = find(u);
      const ro = ru ? find(other) : null;
      if (!ru || !ro) continue;
      if (u.op === 'add') return g.op('sub', ru, ro);
      return x === n ? g.op('add', ru, ro) : g.op('sub', ro, ru);
    }
    return null;
  };
  return (n) => {
    const r = find(n);
    if (!r) {
      throw new InputError(
        `cell '${cell}': the backward needs the value of ${describe(n)}, which depends on this step's ` +
          'projections; save it (or a value it can be rebuilt from) in the cache',
      );
    }
    return r;
  };
}
