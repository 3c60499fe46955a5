import type { CellSpec, Instr, Operand, StepProgram } from '@bistable/core';
import * as tf from '@tensorflow/tfjs-core';
import type { StepGradIn, StepGradOut, StepIn, StepOut, TfCellMath } from './cell-math.js';

type Op = Instr['op'];

const OPS: Readonly<Record<Op, (a: tf.Tensor, b: tf.Tensor) => tf.Tensor>> = {
  add: (a, b) => tf.add(a, b),
  sub: (a, b) => tf.sub(a, b),
  mul: (a, b) => tf.mul(a, b),
  neg: (a) => tf.neg(a),
  sigmoid: (a) => tf.sigmoid(a),
  tanh: (a) => tf.tanh(a),
};

/** A program's outputs by name: tensors, or the numbers an output is defined as. */
export type ProgramOutputs = ReadonlyMap<string, tf.Tensor | number>;

/**
 * Runs a cell program (core's StepProgram) as tfjs ops, one op per instruction. `input` is asked
 * once for each input the program reads, so blocks it never reads are never cut out. Every
 * operand broadcasts: [H] pointwise parameters against [B, H] rows. Call inside tf.tidy.
 */
export function runProgram(prog: StepProgram, input: (name: string) => tf.Tensor): ProgramOutputs {
  const vars = new Map<string, tf.Tensor>();
  for (const name of prog.inputs) vars.set(name, input(name));
  // one scalar per literal and run: 1 − σ appears several times in most cells
  const literals = new Map<number, tf.Scalar>();
  const operand = (o: Operand): tf.Tensor => {
    if (typeof o === 'string') return vars.get(o)!;
    let s = literals.get(o);
    if (!s) {
      s = tf.scalar(o, 'float32');
      literals.set(o, s);
    }
    return s;
  };
  for (const ins of prog.body) {
    vars.set(ins.dst, OPS[ins.op](operand(ins.args[0]), operand(ins.args[1] ?? 0)));
  }
  const out = new Map<string, tf.Tensor | number>();
  for (const o of prog.outputs) out.set(o.name, typeof o.value === 'number' ? o.value : vars.get(o.value)!);
  return out;
}

/**
 * Lazily cut column blocks: `name` is a letter and an index (P2, C0, M1); each tensor is split
 * into its blocks the first time one of them is read.
 */
function blockReader(
  B: number,
  H: number,
  sources: Record<string, tf.Tensor | null>,
  single: Record<string, tf.Tensor | null>,
) {
  const cut = new Map<string, tf.Tensor[]>();
  return (name: string): tf.Tensor => {
    const whole = single[name];
    if (whole) return whole;
    const letter = name[0];
    const src = sources[letter];
    const k = Number(name.slice(1));
    if (!src || !Number.isInteger(k))
      throw new Error(`internal: a cell program reads '${name}', which this step does not have`);
    let parts = cut.get(letter);
    if (!parts) {
      // rows [B, n·H] split on columns; the pointwise parameters [n·H] on their only axis
      const n = (src.rank === 1 ? src.size : src.size / B) / H;
      parts = n === 1 ? [src] : tf.split(src, n, src.rank - 1);
      cut.set(letter, parts);
    }
    return parts[k];
  };
}

/** A [B, H] tensor of an output: literals filled in, row-independent values broadcast. */
export function rows(v: tf.Tensor | number, B: number, H: number): tf.Tensor2D {
  if (typeof v === 'number') return tf.fill([B, H], v, 'float32');
  if (v.rank === 2 && v.shape[0] === B && v.shape[1] === H) return v as tf.Tensor2D;
  return tf.broadcastTo(v, [B, H]) as tf.Tensor2D;
}

/** An output that leaves the step: never one of the step's own inputs (callers dispose what they get). */
function fresh(v: tf.Tensor | number, B: number, H: number, inputs: ReadonlySet<tf.Tensor>): tf.Tensor2D {
  const t = rows(v, B, H);
  return inputs.has(t) ? (tf.clone(t) as tf.Tensor2D) : t;
}

function concatRows(out: ProgramOutputs, letter: string, n: number, B: number, H: number): tf.Tensor2D {
  if (n === 0) return tf.zeros([B, 0]) as tf.Tensor2D;
  const blocks = Array.from({ length: n }, (_, k) => rows(out.get(`${letter}${k}`)!, B, H));
  return tf.concat(blocks, 1) as tf.Tensor2D;
}

const operandName = (o: Operand) => (typeof o === 'string' ? o : null);

/**
 * Where every input block k enters the forward only as P_k + R_k (LSTM's gates), one addition of
 * whole rows G = p + r and one column split replace gx block additions and a second split, as a
 * hand-written LSTM does it. The program with each such sum read as input G_k, or null where the
 * pattern does not hold.
 */
export function presummedGates(prog: StepProgram, gx: number, gr: number): StepProgram | null {
  if (gx === 0 || gx !== gr) return null;
  const uses = new Map<string, number>();
  const use = (o: Operand) => {
    const n = operandName(o);
    if (n) uses.set(n, (uses.get(n) ?? 0) + 1);
  };
  for (const ins of prog.body) ins.args.forEach(use);
  for (const o of prog.outputs) use(o.value);
  const sums = new Map<string, string>();
  for (const ins of prog.body) {
    if (ins.op !== 'add') continue;
    const [a, b] = ins.args.map(operandName);
    const p = [a, b].find((n) => n?.startsWith('P'));
    const k = p?.slice(1);
    if (!p || ![a, b].includes(`R${k}`) || uses.get(p) !== 1 || uses.get(`R${k}`) !== 1) continue;
    sums.set(ins.dst, `G${k}`);
  }
  // each P_k is read once, so gx sums cover every block
  if (sums.size !== gx) return null;
  const renamed = (o: Operand) => (typeof o === 'string' ? (sums.get(o) ?? o) : o);
  return {
    inputs: [...prog.inputs.filter((n) => !/^[PR]\d+$/.test(n)), ...[...sums.values()]],
    body: prog.body
      .filter((ins) => !sums.has(ins.dst))
      .map((ins) => ({ ...ins, args: ins.args.map(renamed) })),
    outputs: prog.outputs.map((o) => ({ name: o.name, value: renamed(o.value) })),
  };
}

/**
 * Any cell's step as tfjs ops, read from its recipe (CellSpec.program): the forward and the
 * derived backward run instruction by instruction on [B, H] column blocks, with the same caches
 * and gradients as core's host functions. tfjs-node and WebGPU without WGSL kernels run it.
 */
export function programMath(spec: CellSpec): TfCellMath {
  const { gx, gr, npw, cacheWidth: cw, hasCellState } = spec;
  const { backward } = spec.program;
  const summed = presummedGates(spec.program.forward, gx, gr);
  const forward = summed ?? spec.program.forward;
  return {
    forward(s: StepIn): StepOut {
      const [B, H] = s.h.shape;
      const given = new Set<tf.Tensor>([s.h, s.p, ...(s.c ? [s.c] : []), ...(s.r ? [s.r] : [])]);
      const blocks: Record<string, tf.Tensor | null> = summed
        ? { G: tf.add(s.p, s.r!), M: s.pw }
        : { P: s.p, R: s.r, M: s.pw };
      const out = runProgram(forward, blockReader(B, H, blocks, { hp: s.h, cp: s.c }));
      return {
        h: fresh(out.get('hn')!, B, H, given),
        c: hasCellState ? fresh(out.get('cn')!, B, H, given) : null,
        cache: concatRows(out, 'C', cw, B, H),
      };
    },

    backward(s: StepGradIn): StepGradOut {
      const [B, H] = s.g.shape;
      const given = new Set<tf.Tensor>([s.g, s.h, ...(s.c ? [s.c] : []), ...(s.dc ? [s.dc] : [])]);
      const out = runProgram(
        backward,
        blockReader(B, H, { C: s.cache, M: s.pw }, { g: s.g, dc: s.dc, hp: s.h, cp: s.c }),
      );
      const dh = out.get('dhp')!;
      let dPw: tf.Tensor1D | null = null;
      if (npw > 0) {
        // W is each row's share of dL/dpw: the parameter's gradient sums the rows
        const shares = Array.from({ length: npw }, (_, k) => tf.sum(rows(out.get(`W${k}`)!, B, H), 0));
        dPw = (npw === 1 ? shares[0] : tf.concat(shares)) as tf.Tensor1D;
      }
      const dP = concatRows(out, 'D', gx, B, H);
      return {
        dP,
        // LSTM's dR is its dP: one concatenation, and the buffer its own handle
        dR:
          gr === 0 ? null : spec.dREqualsDP ? (tf.clone(dP) as tf.Tensor2D) : concatRows(out, 'E', gr, B, H),
        dh: dh === 0 ? null : fresh(dh, B, H, given),
        dc: hasCellState ? fresh(out.get('dcp')!, B, H, given) : null,
        dPw,
      };
    },
  };
}
