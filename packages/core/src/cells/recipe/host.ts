import type { HostArray, StepBackwardArgs, StepForwardArgs } from '../../backend/types.js';
import { evaluate, type Op } from './graph.js';
import type { PackedLayout } from './layout.js';
import type { CellProgram, Dialect, Operand, StepProgram } from './program.js';
import { renderStatements } from './program.js';

export type HostForward = (a: StepForwardArgs<HostArray>) => void;
export type HostBackward = (a: StepBackwardArgs<HostArray>) => void;

interface Shape extends PackedLayout {
  cacheWidth: number;
  hasCellState: boolean;
}

const JS: Dialect = {
  decl: 'const',
  // the graph keeps no −0 constant, so String is exact
  literal: String,
  sigmoid: 'sig',
  tanh: 'Math.tanh',
};

/** Where each step input comes from inside the row loops (see StepForwardArgs/StepBackwardArgs). */
function loads(prog: StepProgram): string {
  const src = (name: string): string => {
    const k = Number(name.slice(1));
    switch (name[0]) {
      case 'P':
        return `a.p[pr + ${k} * H + j]`;
      case 'R':
        return `a.r[rq + ${k} * H + j]`;
      case 'M':
        return `a.pw[${k} * H + j]`;
      case 'C':
        return `a.cache[cr + ${k} * H + j]`;
    }
    switch (name) {
      case 'hp':
        return 'a.hPrev[a.hPrevOff + row + j]';
      case 'cp':
        return 'a.cPrev[a.cPrevOff + row + j]';
      case 'g':
        return 'a.dhCarry[a.dhCarryOff + row + j] + (a.dOut ? a.dOut[a.dOutOff + row + j] : 0)';
      case 'dc':
        return 'a.dcCarry[a.dcCarryOff + row + j]';
    }
    throw new Error(`no source for recipe input ${name}`);
  };
  return prog.inputs.map((n) => `      const ${n} = ${src(n)};`).join('\n');
}

function forwardSource(prog: StepProgram, s: Shape): string {
  const stores = prog.outputs.map(({ name }) => {
    if (name === 'hn') return '      a.hOut[a.hOutOff + row + j] = hn;';
    if (name === 'cn') return '      a.cOut[a.cOutOff + row + j] = cn;';
    return `      a.cache[cr + ${Number(name.slice(1))} * H + j] = ${name};`;
  });
  return `
  for (let b = 0; b < B; b++) {
    const row = b * H;
    const pr = a.pOff + b * ${s.gx} * H;
    const rq = a.rOff + b * ${s.gr} * H;
    const cr = a.cacheOff + b * ${s.cacheWidth} * H;
    for (let j = 0; j < H; j++) {
${loads(prog)}
${renderStatements(prog, JS, '      ')}
${stores.join('\n')}
    }
  }`;
}

function backwardSource(prog: StepProgram, s: Shape): string {
  const stores = prog.outputs.map(({ name }) => {
    const k = Number(name.slice(1));
    if (name === 'dhp') return '      a.dhPrev[a.dhPrevOff + row + j] = dhp;';
    if (name === 'dcp') return '      a.dcPrev[a.dcPrevOff + row + j] = dcp;';
    if (name[0] === 'D') return `      a.dP[pr + ${k} * H + j] = ${name};`;
    if (name[0] === 'E') return `      a.dR[rq + ${k} * H + j] = ${name};`;
    return `      a.dPw[${k} * H + j] += ${name};`;
  });
  return `
  for (let b = 0; b < B; b++) {
    const row = b * H;
    const pr = a.dPOff + b * ${s.gx} * H;
    const rq = a.dROff + b * ${s.gr} * H;
    const cr = a.cacheOff + b * ${s.cacheWidth} * H;
    for (let j = 0; j < H; j++) {
${loads(prog)}
${renderStatements(prog, JS, '      ')}
${stores.join('\n')}
    }
  }`;
}

const ARGS = [
  'B',
  'H',
  'p',
  'pOff',
  'r',
  'rOff',
  'pw',
  'hPrev',
  'hPrevOff',
  'cPrev',
  'cPrevOff',
  'hOut',
  'hOutOff',
  'cOut',
  'cOutOff',
  'cache',
  'cacheOff',
  'dOut',
  'dOutOff',
  'dhCarry',
  'dhCarryOff',
  'dcCarry',
  'dcCarryOff',
  'dP',
  'dPOff',
  'dR',
  'dROff',
  'dhPrev',
  'dhPrevOff',
  'dcPrev',
  'dcPrevOff',
  'dPw',
].join(', ');

const sig = (x: number): number => 1 / (1 + Math.exp(-x));

/**
 * The host step functions of a recipe: its programs rendered as JavaScript and compiled once,
 * as fast as the hand-written loops they replace. Where the environment forbids compiling code
 * (a Content-Security-Policy without 'unsafe-eval'), the same programs run through `interpret`.
 */
export function hostFunctions(prog: CellProgram, s: Shape): { forward: HostForward; backward: HostBackward } {
  try {
    // locals, not property reads, in the inner loop: what the hand-written loops did
    const make = (body: string) =>
      new Function('sig', `return function (a) {\n  const {${ARGS}} = a;${body.replace(/\ba\./g, '')}\n};`)(
        sig,
      ) as never;
    return {
      forward: make(forwardSource(prog.forward, s)),
      backward: make(backwardSource(prog.backward, s)),
    };
  } catch (err) {
    if (!(err instanceof EvalError)) throw err;
    return interpretedFunctions(prog, s);
  }
}

/** The same step functions, interpreting the programs instead of compiling them. */
export function interpretedFunctions(
  prog: CellProgram,
  s: Shape,
): { forward: HostForward; backward: HostBackward } {
  const fwd = interpreter(prog.forward);
  const bwd = interpreter(prog.backward);
  return {
    forward(a) {
      const { H } = a;
      for (let b = 0; b < a.B; b++) {
        const row = b * H;
        const pr = a.pOff + b * s.gx * H;
        const rq = a.rOff + b * s.gr * H;
        const cr = a.cacheOff + b * s.cacheWidth * H;
        for (let j = 0; j < H; j++) {
          const out = fwd((name, k) => {
            switch (name) {
              case 'P':
                return a.p[pr + k * H + j];
              case 'R':
                return a.r![rq + k * H + j];
              case 'M':
                return a.pw![k * H + j];
              case 'hp':
                return a.hPrev[a.hPrevOff + row + j];
              default:
                return a.cPrev![a.cPrevOff + row + j];
            }
          });
          for (const [name, v] of out) {
            if (name === 'hn') a.hOut[a.hOutOff + row + j] = v;
            else if (name === 'cn') a.cOut![a.cOutOff + row + j] = v;
            else a.cache[cr + Number(name.slice(1)) * H + j] = v;
          }
        }
      }
    },
    backward(a) {
      const { H } = a;
      for (let b = 0; b < a.B; b++) {
        const row = b * H;
        const pr = a.dPOff + b * s.gx * H;
        const rq = a.dROff + b * s.gr * H;
        const cr = a.cacheOff + b * s.cacheWidth * H;
        for (let j = 0; j < H; j++) {
          const out = bwd((name, k) => {
            switch (name) {
              case 'C':
                return a.cache[cr + k * H + j];
              case 'M':
                return a.pw![k * H + j];
              case 'hp':
                return a.hPrev[a.hPrevOff + row + j];
              case 'cp':
                return a.cPrev![a.cPrevOff + row + j];
              case 'dc':
                return a.dcCarry![a.dcCarryOff + row + j];
              default:
                return a.dhCarry[a.dhCarryOff + row + j] + (a.dOut ? a.dOut[a.dOutOff + row + j] : 0);
            }
          });
          for (const [name, v] of out) {
            const k = Number(name.slice(1));
            if (name === 'dhp') a.dhPrev[a.dhPrevOff + row + j] = v;
            else if (name === 'dcp') a.dcPrev![a.dcPrevOff + row + j] = v;
            else if (name[0] === 'D') a.dP[pr + k * H + j] = v;
            else if (name[0] === 'E') a.dR![rq + k * H + j] = v;
            else a.dPw![k * H + j] += v;
          }
        }
      }
    },
  };
}

type Reader = (block: string, k: number) => number;

/** Runs a program on one unit: reads its inputs through `read`, returns its outputs in order. */
function interpreter(prog: StepProgram): (read: Reader) => [string, number][] {
  const inputs = prog.inputs.map((n): [string, string, number] =>
    /^[PRMC]\d+$/.test(n) ? [n, n[0], Number(n.slice(1))] : [n, n, 0],
  );
  const slots = new Map<string, number>();
  for (const [i, n] of [...inputs.map((x) => x[0]), ...prog.body.map((x) => x.dst)].entries())
    slots.set(n, i);
  const reg = new Float64Array(slots.size);
  const at = (o: Operand) => (typeof o === 'number' ? o : reg[slots.get(o)!]);
  const body = prog.body.map(
    (ins) => [slots.get(ins.dst)!, ins.op, ins.args] as [number, Op, readonly Operand[]],
  );
  return (read) => {
    for (const [i, [, block, k]] of inputs.entries()) reg[i] = read(block, k);
    for (const [dst, op, args] of body)
      reg[dst] = evaluate(op, at(args[0]), args.length > 1 ? at(args[1]) : 0);
    return prog.outputs.map((o) => [o.name, at(o.value)]);
  };
}
