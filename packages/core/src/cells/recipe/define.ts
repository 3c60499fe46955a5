import { InputError } from '../../backend/errors.js';
import type { CellSpec, ParamSpec } from '../spec.js';
import { deriveBackward } from './derive.js';
import { Graph } from './graph.js';
import { hostFunctions } from './host.js';
import { packedLayout } from './layout.js';
import { linearize } from './program.js';
import { type RecipeInputs, recipeInputs, Val } from './values.js';

/** What a recipe's step returns: the new state of one unit and the values its backward reads. */
export interface RecipeStep {
  h: Val;
  /** The new cell state (recipes with `cellState`). */
  c?: Val;
  /**
   * The values saved for the backward, in cache order. Every value the derivatives need that
   * depends on this step's projections (an activation's output, a product's factor) must be here
   * or be rebuildable from what is here; defineCell names any that is not.
   */
  cache: Val[];
}

/**
 * A cell, written once: its parameters (torch names, shapes, initialisation and where each sits in
 * the packed buffers) and the pointwise math of one step for one hidden unit. Core derives the
 * backward, the host functions and the programs every backend renders into its kernels.
 *
 * @category Cells
 */
export interface CellRecipe {
  /** A name no other cell has; checkpoints and configs refer to the cell by it. */
  name: string;
  params: readonly ParamSpec[];
  /** The cell carries a cell state c next to h (as LSTM does). */
  cellState?: boolean;
  /** One step of one unit; runs once, when the cell is defined, to record the math. */
  step(v: RecipeInputs): RecipeStep;
}

/**
 * Turns a recipe into the CellSpec the runner and every backend use. Errors name what is wrong:
 * a parameter that does not fit its slot, an operand the weights do not provide, a value the
 * backward needs but the cache does not hold.
 *
 * @example
 * ```ts
 * import { defineCell } from '@bistable/core';
 *
 * // a minimal gated cell: h' = z·h + (1 − z)·tanh(x@kh), z = σ(x@kz + h@mz)
 * const gated = defineCell({
 *   name: 'Gated',
 *   params: [
 *     { name: 'kz', shape: (i, h) => [i, h], init: { kind: 'xavierUniform' }, slot: 'wx', col: 0, transposed: false },
 *     { name: 'kh', shape: (i, h) => [i, h], init: { kind: 'xavierUniform' }, slot: 'wx', col: 1, transposed: false },
 *     { name: 'mz', shape: (_i, h) => [h, h], init: { kind: 'orthogonal' }, slot: 'wh', col: 0, transposed: false },
 *   ],
 *   step: ({ P, R, h, sigmoid, tanh }) => {
 *     const z = sigmoid(P[0].add(R[0]));
 *     const n = tanh(P[1]);
 *     return { h: z.mul(h).add(z.neg().add(1).mul(n)), cache: [z, n] };
 *   },
 * });
 * console.log(gated.gx, gated.gr, gated.cacheWidth); // 2 1 2
 * ```
 *
 * @category Cells
 */
export function defineCell(recipe: CellRecipe): CellSpec {
  const { name } = recipe;
  if (typeof name !== 'string' || !/^[A-Za-z][\w-]*$/.test(name)) {
    throw new InputError(
      `a cell's name must start with a letter and hold only letters, digits, _ and -; got '${String(name)}'`,
    );
  }
  const layout = packedLayout(name, recipe.params);
  const hasCellState = recipe.cellState === true;
  const g = new Graph();
  const out = recipe.step(recipeInputs(name, g, layout, hasCellState));
  if (!(out?.h instanceof Val))
    throw new InputError(`cell '${name}': step must return { h, cache } with h a value`);
  if (hasCellState !== out.c instanceof Val) {
    throw new InputError(
      hasCellState
        ? `cell '${name}' has cellState but its step returns no c`
        : `cell '${name}' returns c but has no cellState`,
    );
  }
  if (!Array.isArray(out.cache) || !out.cache.every((v) => v instanceof Val)) {
    throw new InputError(`cell '${name}': step's cache must be an array of values`);
  }
  const fwd = { h: out.h.node, c: out.c?.node ?? null, cache: out.cache.map((v) => v.node) };
  const bwd = deriveBackward(name, g, fwd, layout);
  const program = {
    forward: linearize([
      { name: 'hn', node: fwd.h },
      ...(fwd.c ? [{ name: 'cn', node: fwd.c }] : []),
      ...fwd.cache.map((node, k) => ({ name: `C${k}`, node })),
    ]),
    backward: linearize([...bwd].map(([n, node]) => ({ name: n, node }))),
  };
  const shape = { ...layout, cacheWidth: fwd.cache.length, hasCellState };
  const dREqualsDP =
    layout.gr > 0 &&
    layout.gr === layout.gx &&
    Array.from({ length: layout.gr }, (_, k) => bwd.get(`E${k}`) === bwd.get(`D${k}`)).every(Boolean);
  return {
    name,
    ...shape,
    params: recipe.params,
    program,
    dREqualsDP,
    ...hostFunctions(program, shape),
  };
}
