import type { CellSpec, Instr, ParamSpec, StepProgram } from '@bistable/core';
import * as tf from '@tensorflow/tfjs-core';
import { rows, runProgram } from '../kernels/program-ops.js';

/** The name the forward program reads the state by where recurrent dropout applies to it. */
const GATE_STATE = 'hg';

/**
 * The forward program with the state read as `hg` wherever it reaches a nonlinearity (a gate or
 * the candidate) and as `hp` where it only carries over linearly (z ⊙ h). Recurrent dropout
 * drops `hg` and keeps `hp`: the state is dropped where it enters the gates, never in the carry,
 * whatever the cell.
 */
export function withGateState(prog: StepProgram): StepProgram {
  const gated = new Set<string>();
  const activation = (ins: Instr) => ins.op === 'sigmoid' || ins.op === 'tanh';
  // walk backwards: an instruction feeds a nonlinearity when it is one or its result feeds one
  for (let i = prog.body.length - 1; i >= 0; i--) {
    const ins = prog.body[i];
    if (activation(ins) || gated.has(ins.dst)) {
      for (const a of ins.args) if (typeof a === 'string') gated.add(a);
    }
  }
  const body = prog.body.map((ins) =>
    activation(ins) || gated.has(ins.dst)
      ? { ...ins, args: ins.args.map((a) => (a === 'hp' ? GATE_STATE : a)) }
      : ins,
  );
  const reads = new Set(body.flatMap((ins) => ins.args.filter((a): a is string => typeof a === 'string')));
  for (const o of prog.outputs) if (typeof o.value === 'string') reads.add(o.value);
  const temps = new Set(body.map((ins) => ins.dst));
  return { inputs: [...reads].filter((n) => !temps.has(n)), body, outputs: prog.outputs };
}

/** Each recipe's forward with the state split for recurrent dropout, made once per cell. */
const gatePrograms = new WeakMap<CellSpec, StepProgram>();

function gateProgram(spec: CellSpec): StepProgram {
  let prog = gatePrograms.get(spec);
  if (!prog) {
    prog = withGateState(spec.program.forward);
    gatePrograms.set(spec, prog);
  }
  return prog;
}

/** The program operands a packed slot's column blocks become (P_k, R_k, M_k). */
const LETTER: Readonly<Record<ParamSpec['slot'], 'P' | 'R' | 'M'>> = {
  wx: 'P',
  bx: 'P',
  wh: 'R',
  bh: 'R',
  pw: 'M',
};

/**
 * One step of a cell on tfjs tensors from its named (torch-shaped) weights, differentiable by
 * tfjs: the projections P = x @ wx + bx and R = hIn @ wh + bh are formed per parameter, then the
 * recipe's forward runs op by op. `h` is the state carried over, `hIn` the state where it enters
 * the gates (h itself without recurrent dropout). Call inside tf.tidy.
 */
export function recipeForward(
  spec: CellSpec,
  weights: readonly tf.Tensor[],
  x: tf.Tensor2D,
  h: tf.Tensor2D,
  hIn: tf.Tensor2D,
): tf.Tensor2D {
  const [B, H] = h.shape;
  const blocks: Record<'P' | 'R' | 'M', (tf.Tensor | undefined)[]> = { P: [], R: [], M: [] };
  spec.params.forEach((p, i) => {
    const w = weights[i];
    const projects = p.slot === 'wx' || p.slot === 'wh';
    const term = projects ? tf.matMul(p.slot === 'wx' ? x : hIn, w as tf.Tensor2D, false, p.transposed) : w;
    const width = term.shape[term.rank - 1] / H;
    const parts = width === 1 ? [term] : tf.split(term, width, term.rank - 1);
    const into = blocks[LETTER[p.slot]];
    parts.forEach((part, k) => {
      const have = into[p.col + k];
      into[p.col + k] = have ? tf.add(have, part) : part;
    });
  });
  const out = runProgram(gateProgram(spec), (name) => {
    if (name === 'hp') return h;
    if (name === GATE_STATE) return hIn;
    const letter = name[0] as 'P' | 'R' | 'M';
    if (!(letter in blocks))
      throw new Error(`a layer cell has no state '${name}' (cells with a cell state are not layers)`);
    // a block no parameter writes: zeros, as in core's packed buffers
    return blocks[letter][Number(name.slice(1))] ?? tf.zeros([B, H]);
  });
  return rows(out.get('hn')!, B, H);
}
