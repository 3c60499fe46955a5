import { InputError } from '../../backend/errors.js';
import type { Graph, Node } from './graph.js';

/**
 * A value of a cell recipe: one hidden unit of one row, as an expression. Arithmetic builds the
 * graph that core differentiates and every backend renders; numbers mix in as constants.
 */
export class Val {
  /** @internal */
  constructor(
    readonly graph: Graph,
    readonly node: Node,
  ) {}

  add(b: Val | number): Val {
    return this.bin('add', b);
  }
  sub(b: Val | number): Val {
    return this.bin('sub', b);
  }
  mul(b: Val | number): Val {
    return this.bin('mul', b);
  }
  neg(): Val {
    return new Val(this.graph, this.graph.op('neg', this.node));
  }

  private bin(op: 'add' | 'sub' | 'mul', b: Val | number): Val {
    return new Val(this.graph, this.graph.op(op, this.node, operand(this.graph, b)));
  }
}

function operand(g: Graph, v: Val | number): Node {
  if (typeof v === 'number') return g.constant(v);
  if (!(v instanceof Val) || v.graph !== g) {
    throw new InputError(
      'a cell recipe mixed a value that is not one of its own (a number or a Val of this cell)',
    );
  }
  return v.node;
}

/** What a recipe's `step` receives: this step's operands for one hidden unit, and the activations. */
export interface RecipeInputs {
  /** The input projections x @ Wx (+ bx), one per column block of the input weights. */
  P: readonly Val[];
  /** The recurrent projections h_prev @ Wh (+ bh), one per column block of the recurrent weights. */
  R: readonly Val[];
  /** The pointwise parameter vectors (`pw` slot), read at this unit. */
  M: readonly Val[];
  /** The previous hidden state at this unit. */
  h: Val;
  /** The previous cell state at this unit (recipes with `cellState`). */
  c: Val;
  sigmoid(x: Val | number): Val;
  tanh(x: Val | number): Val;
  /** A constant as a Val (numbers mix in on their own; this is for starting from one). */
  constant(v: number): Val;
}

/** An indexed block of operands that names the mistake when a recipe reads past its end. */
export function operandBlock(
  cell: string,
  g: Graph,
  letter: string,
  count: number,
  what: string,
): readonly Val[] {
  const vals = Array.from({ length: count }, (_, k) => new Val(g, g.input(`${letter}${k}`)));
  return new Proxy(vals, {
    get(target, key, receiver) {
      if (typeof key === 'string' && /^\d+$/.test(key) && Number(key) >= count) {
        const have = count === 0 ? 'none' : `${letter}[0]..${letter}[${count - 1}]`;
        throw new InputError(`cell '${cell}' reads ${letter}[${key}], but its ${what} give ${have}`);
      }
      return Reflect.get(target, key, receiver) as unknown;
    },
  });
}

/** The activations and constants, bound to one graph. */
export function recipeInputs(
  cell: string,
  g: Graph,
  counts: { gx: number; gr: number; npw: number },
  cellState: boolean,
): RecipeInputs {
  const unary = (op: 'sigmoid' | 'tanh') => (x: Val | number) => new Val(g, g.op(op, operand(g, x)));
  const c = new Val(g, g.input('cp'));
  return {
    P: operandBlock(cell, g, 'P', counts.gx, 'input weights (wx slot)'),
    R: operandBlock(cell, g, 'R', counts.gr, 'recurrent weights (wh slot)'),
    M: operandBlock(cell, g, 'M', counts.npw, 'pointwise parameters (pw slot)'),
    h: new Val(g, g.input('hp')),
    get c(): Val {
      if (!cellState)
        throw new InputError(`cell '${cell}' reads c, but it has no cell state (set cellState: true)`);
      return c;
    },
    sigmoid: unary('sigmoid'),
    tanh: unary('tanh'),
    constant: (v) => new Val(g, g.constant(v)),
  };
}
