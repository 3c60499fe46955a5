/**
 * The expression graph a cell recipe is written in: hash-consed nodes, so that the same
 * sub-expression written twice is one node (one temporary in every rendered kernel), with the
 * algebraic identities that symbolic differentiation leans on (x + 0, x · 1, x · 0) folded as
 * nodes are built.
 */
export type UnaryOp = 'neg' | 'sigmoid' | 'tanh';
export type BinaryOp = 'add' | 'sub' | 'mul';
export type Op = UnaryOp | BinaryOp;

export type Node =
  | { readonly id: number; readonly kind: 'input'; readonly name: string }
  | { readonly id: number; readonly kind: 'const'; readonly value: number }
  | { readonly id: number; readonly kind: 'op'; readonly op: Op; readonly args: readonly Node[] };

/** Builds nodes; one graph per recipe (a cell's forward and its derived backward share it). */
export class Graph {
  private readonly byKey = new Map<string, Node>();
  private next = 0;

  private intern(key: string, make: (id: number) => Node): Node {
    let n = this.byKey.get(key);
    if (!n) {
      n = make(this.next++);
      this.byKey.set(key, n);
    }
    return n;
  }

  input(name: string): Node {
    return this.intern(`i:${name}`, (id) => ({ id, kind: 'input', name }));
  }

  constant(value: number): Node {
    if (!Number.isFinite(value)) throw new RangeError(`a cell recipe constant must be finite, got ${value}`);
    // +0 and -0 are one constant: no recipe tells them apart
    const v = value === 0 ? 0 : value;
    return this.intern(`c:${v}`, (id) => ({ id, kind: 'const', value: v }));
  }

  op(op: Op, ...args: Node[]): Node {
    const folded = this.fold(op, args);
    if (folded) return folded;
    // addition and multiplication commute: one node for a + b and b + a
    const ordered = (op === 'add' || op === 'mul') && args[0].id > args[1].id ? [args[1], args[0]] : args;
    return this.intern(`${op}(${ordered.map((a) => a.id).join(',')})`, (id) => ({
      id,
      kind: 'op',
      op,
      args: ordered,
    }));
  }

  private factorOut(op: 'add' | 'sub', a: Node, b: Node): Node | null {
    const shared = sharedFactor(a, b);
    return shared ? this.op('mul', shared[0], this.op(op, shared[1], shared[2])) : null;
  }

  private fold(op: Op, args: Node[]): Node | null {
    const [a, b] = args;
    const common = (op === 'add' || op === 'sub') && this.factorOut(op, a, b);
    if (common) return common;
    const ca = a.kind === 'const' ? a.value : null;
    const cb = b?.kind === 'const' ? b.value : null;
    if (ca !== null && (b === undefined || cb !== null)) return this.constant(evaluate(op, ca, cb ?? 0));
    switch (op) {
      case 'add':
        if (ca === 0) return b;
        if (cb === 0) return a;
        // a + (−b) is a − b: the form adjoints of a subtraction take
        if (b.kind === 'op' && b.op === 'neg') return this.op('sub', a, b.args[0]);
        if (a.kind === 'op' && a.op === 'neg') return this.op('sub', b, a.args[0]);
        return null;
      case 'sub':
        if (cb === 0) return a;
        if (ca === 0) return this.op('neg', b);
        if (a === b) return this.constant(0);
        return null;
      case 'mul':
        if (ca === 0 || cb === 0) return this.constant(0);
        if (ca === 1) return b;
        if (cb === 1) return a;
        if (ca === -1) return this.op('neg', b);
        if (cb === -1) return this.op('neg', a);
        return null;
      case 'neg':
        if (a.kind === 'op' && a.op === 'neg') return a.args[0];
        return null;
      default:
        return null;
    }
  }
}

/**
 * a·x ± a·y as a·(x ± y): adjoints summed from two uses of one value (g·h − g·n in every gated
 * cell's backward) share their factor, and factoring saves a multiply per unit and step.
 */
function sharedFactor(a: Node, b: Node): [Node, Node, Node] | null {
  if (a.kind !== 'op' || a.op !== 'mul' || b.kind !== 'op' || b.op !== 'mul') return null;
  for (const [i, f] of a.args.entries()) {
    const j = b.args.indexOf(f);
    if (j >= 0) return [f, a.args[1 - i], b.args[1 - j]];
  }
  return null;
}

/** One operation on numbers: the meaning every renderer must reproduce. */
export function evaluate(op: Op, a: number, b: number): number {
  switch (op) {
    case 'add':
      return a + b;
    case 'sub':
      return a - b;
    case 'mul':
      return a * b;
    case 'neg':
      return -a;
    case 'sigmoid':
      return 1 / (1 + Math.exp(-a));
    case 'tanh':
      return Math.tanh(a);
  }
}

/** The nodes `roots` depend on, each after its arguments. */
export function topoOrder(roots: readonly Node[]): Node[] {
  const seen = new Set<number>();
  const out: Node[] = [];
  const visit = (n: Node) => {
    if (seen.has(n.id)) return;
    seen.add(n.id);
    if (n.kind === 'op') for (const a of n.args) visit(a);
    out.push(n);
  };
  for (const r of roots) visit(r);
  return out;
}

/** A node as readable text, for error messages. */
export function describe(n: Node): string {
  if (n.kind === 'input') return n.name;
  if (n.kind === 'const') return String(n.value);
  const [a, b] = n.args.map(describe);
  switch (n.op) {
    case 'add':
      return `(${a} + ${b})`;
    case 'sub':
      return `(${a} - ${b})`;
    case 'mul':
      return `${a} * ${b}`;
    case 'neg':
      return `-${a}`;
    default:
      return `${n.op}(${a})`;
  }
}
