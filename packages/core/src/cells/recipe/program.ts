import { type Node, type Op, topoOrder } from './graph.js';

/** A variable name or a literal. */
export type Operand = string | number;

/** `dst = op(args)`: one operation of a straight-line program, in the order it runs. */
export interface Instr {
  readonly dst: string;
  readonly op: Op;
  readonly args: readonly Operand[];
}

/**
 * A straight-line program over one hidden unit of one row: what every backend renders into its
 * own language. It reads the named inputs, computes temporaries `t0, t1, …` and defines each
 * output as a variable or a literal.
 */
export interface StepProgram {
  /** The inputs the body reads (a subset of the step's inputs, see CellProgram). */
  readonly inputs: readonly string[];
  readonly body: readonly Instr[];
  readonly outputs: readonly { readonly name: string; readonly value: Operand }[];
}

/**
 * A cell's pointwise math, forward and backward, as two programs. The names are the contract with
 * the kernels that render them:
 *
 * forward  in:  P0..P{gx-1} (input projection, biases included), R0..R{gr-1} (h_prev @ wh + bh),
 *               M0..M{npw-1} (pointwise parameters), hp (h_prev), cp (c_prev, cells with a c)
 *          out: hn, cn (cells with a c), C0..C{cacheWidth-1} (saved for the backward)
 * backward in:  g (gradient reaching h_t), dc (reaching c_t), hp, cp, C0.., M0..
 *          out: D0..D{gx-1} (dP), E0..E{gr-1} (dR), dhp (pointwise part of dL/dh_{t-1}),
 *               dcp (dL/dc_{t-1}), W0..W{npw-1} (this row's share of dL/dpw)
 */
export interface CellProgram {
  readonly forward: StepProgram;
  readonly backward: StepProgram;
}

/** Lays out the nodes the named outputs depend on as one instruction per operation. */
export function linearize(outputs: readonly { name: string; node: Node }[]): StepProgram {
  const names = new Map<number, Operand>();
  const inputs: string[] = [];
  const body: Instr[] = [];
  for (const n of topoOrder(outputs.map((o) => o.node))) {
    if (n.kind === 'input') {
      names.set(n.id, n.name);
      inputs.push(n.name);
    } else if (n.kind === 'const') names.set(n.id, n.value);
    else {
      const dst = `t${body.length}`;
      body.push({ dst, op: n.op, args: n.args.map((a) => names.get(a.id)!) });
      names.set(n.id, dst);
    }
  }
  return { inputs, body, outputs: outputs.map((o) => ({ name: o.name, value: names.get(o.node.id)! })) };
}

/** How a language spells declarations, literals and the two activations. */
export interface Dialect {
  /** Declares an immutable local: `let` (WGSL), `const` (JavaScript, GPU.js). */
  decl: string;
  literal(v: number): string;
  sigmoid: string;
  tanh: string;
  /**
   * What the program's temporaries `t0, t1, …` are called in the output (`cv` gives `cv0, …`):
   * a prefix the kernel wrapped around the statements does not use for its own locals. Default `t`.
   */
  temp?: string;
}

const INFIX: Partial<Record<Op, string>> = { add: '+', sub: '-', mul: '*' };

/** A program as statements of a C-like language, one declaration per instruction and output. */
export function renderStatements(prog: StepProgram, d: Dialect, indent = '  '): string {
  const temp = d.temp ?? 't';
  const local = (n: string) => (temp !== 't' && /^t\d+$/.test(n) ? `${temp}${n.slice(1)}` : n);
  const arg = (o: Operand) => (typeof o === 'number' ? d.literal(o) : local(o));
  const lines = prog.body.map((ins) => {
    const [a, b] = ins.args.map(arg);
    const infix = INFIX[ins.op];
    const rhs = infix
      ? `${a} ${infix} ${b}`
      : ins.op === 'neg'
        ? `-${a}`
        : `${d[ins.op as 'sigmoid' | 'tanh']}(${a})`;
    return `${indent}${d.decl} ${local(ins.dst)} = ${rhs};`;
  });
  for (const o of prog.outputs) lines.push(`${indent}${d.decl} ${o.name} = ${arg(o.value)};`);
  return lines.join('\n');
}
