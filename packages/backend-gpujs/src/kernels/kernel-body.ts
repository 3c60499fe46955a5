import {
  type CellSpec,
  type Dialect,
  type Instr,
  type Operand,
  renderStatements,
  type StepProgram,
} from '@bistable/core';
import type { Region } from './cell-layout.js';

/** Arrays a step kernel may read, each passed as (array, offset). */
export type CellArray =
  | 'p'
  | 'r'
  | 'wh'
  | 'bh'
  | 'pw'
  | 'hPrev'
  | 'cPrev'
  | 'dOut'
  | 'dhCarry'
  | 'dRNext'
  | 'dcCarry'
  | 'cache'
  | 'dPw';

// GLSL ES 1.0 has no tanh, and textbook σ overflows in float32: math.ts's helpers
const JS: Dialect = {
  decl: 'const',
  literal: (v) => (v < 0 ? `(${v})` : String(v)),
  sigmoid: 'sigm',
  tanh: 'tanhS',
};

/** Costs that steer the order of evaluation: a load or an operation is 1, a dot product over a row more than any program. */
const DOT = 1000;

export type Dir = 'forward' | 'backward';

/** The kernel parameter that holds a group of arrays. */
export const paramName = (group: readonly CellArray[]) => (group.length === 1 ? group[0] : 'packed');

/**
 * `which` is one of `ws`, for a thread whose `which` is one of `ws` or of `others` (float
 * arithmetic: compared with a margin). One comparison where `ws` all lie on one side of the rest.
 */
function whichIn(ws: readonly number[], others: readonly number[]): string {
  const lo = Math.min(...ws);
  const hi = Math.max(...ws);
  if (others.every((o) => o > hi)) return `which < ${hi + 0.5}`;
  if (others.every((o) => o < lo)) return `which > ${lo - 0.5}`;
  if (others.every((o) => o < lo || o > hi)) return `which > ${lo - 0.5} && which < ${hi + 0.5}`;
  return ws.map((x) => `(which > ${x - 0.5} && which < ${x + 0.5})`).join(' || ');
}

/** A program's pieces as work items: an input's load, the fused dot products, an operation. */
export class KernelBody {
  private readonly def = new Map<string, number>();
  private readonly memo = new Map<string, Set<string>>();
  private readonly param = new Map<CellArray, string>();

  constructor(
    private readonly spec: CellSpec,
    private readonly prog: StepProgram,
    private readonly dir: Dir,
    private readonly fused: boolean,
  ) {
    prog.body.forEach((ins, i) => {
      this.def.set(ins.dst, i);
    });
  }

  /** Which kernel parameter holds each array. */
  bind(groups: readonly (readonly CellArray[])[]): void {
    for (const g of groups) for (const a of g) this.param.set(a, paramName(g));
  }

  private array(a: CellArray): string {
    const p = this.param.get(a);
    if (!p)
      throw new Error(`cell '${this.spec.name}': the ${this.dir} kernel reads ${a} but does not take it`);
    return p;
  }

  reads(input: string): boolean {
    return this.prog.inputs.includes(input);
  }

  /** The kernel's arrays: those the program's inputs come from, and the incoming dPw. */
  arrays(sumsPw: boolean): CellArray[] {
    const has = (re: RegExp) => this.prog.inputs.some((n) => re.test(n));
    const out: CellArray[] = [];
    if (this.dir === 'forward') {
      if (has(/^P\d+$/)) out.push('p');
      if (has(/^R\d+$/) && !this.fused) out.push('r');
      if (has(/^R\d+$/) && this.fused) out.push('wh', ...(this.spec.hasBh ? (['bh'] as const) : []));
      if (has(/^M\d+$/)) out.push('pw');
      if (this.reads('hp') || (this.fused && has(/^R\d+$/))) out.push('hPrev');
      if (this.reads('cp')) out.push('cPrev');
      return out;
    }
    if (this.reads('g'))
      out.push('dOut', 'dhCarry', ...(this.spec.gr > 0 ? (['dRNext', 'wh'] as const) : []));
    if (this.reads('dc')) out.push('dcCarry');
    if (has(/^C\d+$/)) out.push('cache');
    if (has(/^M\d+$/)) out.push('pw');
    if (this.reads('hp')) out.push('hPrev');
    if (this.reads('cp')) out.push('cPrev');
    if (sumsPw) out.push('dPw');
    return out;
  }

  /**
   * Returns the value `which` names, value after value, each returned as soon as it is known: a
   * thread does the work its value needs, plus what later values need and was computed before
   * its turn. What only one value needs is computed inside that value's branch, so other threads
   * skip it. The order is the one with the least work summed over the threads.
   */
  selectOutput(perThread: readonly { value: Operand; which: number }[]): string[] {
    const groups = new Map<Operand, number[]>();
    for (const { value, which } of perThread) groups.set(value, [...(groups.get(value) ?? []), which]);
    const order = this.order([...groups.entries()]);
    const done = new Set<string>();
    const lines: string[] = [];
    order.forEach(([value, ws], i) => {
      const ret = `return ${operand(value, '')};`;
      if (i === order.length - 1) {
        lines.push(...this.emit(this.deps(value), done, 'b', ''), ret);
        return;
      }
      const { shared, own } = this.split(value, order.slice(i + 1), done);
      lines.push(...this.emit(shared, done, 'b', ''));
      const rest = order.slice(i + 1).flatMap(([, w]) => w);
      lines.push(
        `if (${whichIn(ws, rest)}) {`,
        ...this.emit(own, done, 'b', '').map((l) => `  ${l}`),
        `  ${ret}`,
        '}',
      );
    });
    return lines;
  }

  /** What `value` needs beyond `done`: the part later values need too, and its own. */
  private split(value: Operand, later: readonly [Operand, number[]][], done: Set<string>) {
    const after = new Set(later.flatMap(([v]) => [...this.deps(v)]));
    const need = [...this.deps(value)].filter((x) => !done.has(x));
    return {
      shared: new Set(need.filter((x) => after.has(x))),
      own: new Set(need.filter((x) => !after.has(x))),
    };
  }

  /**
   * The order with the least work summed over the threads. An item (load, dot product,
   * operation) that one value alone needs is computed in its branch, by its threads only; one
   * that several need is computed at the top level at the turn of the first of them, by every
   * thread still running. So the threads of a value returned after the set S of values do its
   * own items and the shared items of S and of itself: the total is a sum over prefixes, which
   * a pass over the subsets minimises exactly (a few values; more are ordered greedily).
   */
  private order(values: [Operand, number[]][]): [Operand, number[]][] {
    const n = values.length;
    const deps = values.map(([v]) => [...this.deps(v)]);
    const users = new Map<string, number>();
    for (const d of deps) for (const x of d) users.set(x, (users.get(x) ?? 0) + 1);
    // cost of the shared items the values of `set` (a bit mask) need
    const shared = (set: number) => {
      const items = new Set<string>();
      for (let i = 0; i < n; i++)
        if (set & (1 << i)) for (const x of deps[i]) if (users.get(x)! > 1) items.add(x);
      return [...items].reduce((c, x) => c + this.cost(x), 0);
    };
    const weight = values.map(([, ws]) => ws.length);
    if (n > 12) {
      const out: number[] = [];
      let set = 0;
      while (out.length < n) {
        let pick = -1;
        for (let i = 0; i < n; i++) {
          if (set & (1 << i)) continue;
          if (pick < 0 || weight[i] * shared(set | (1 << i)) < weight[pick] * shared(set | (1 << pick)))
            pick = i;
        }
        out.push(pick);
        set |= 1 << pick;
      }
      return out.map((i) => values[i]);
    }
    // least[S]: the least work of the values in S returned first, S's last value being last[S]
    const least = new Float64Array(1 << n);
    const last = new Int8Array(1 << n);
    for (let set = 1; set < 1 << n; set++) {
      const c = shared(set);
      least[set] = Number.POSITIVE_INFINITY;
      for (let i = 0; i < n; i++) {
        if (!(set & (1 << i))) continue;
        const w = least[set & ~(1 << i)] + weight[i] * c;
        // ties go to the natural order (the last value last), where one comparison picks a value
        if (w <= least[set]) [least[set], last[set]] = [w, i];
      }
    }
    const out: [Operand, number[]][] = [];
    for (let set = (1 << n) - 1; set; set &= ~(1 << last[set])) out.unshift(values[last[set]]);
    return out;
  }

  /**
   * The threads of the one-row region (dPw, the last, after `base` blocks of the others): each
   * sums its output over the B rows, onto the incoming dPw. One loop for all of them, as what
   * they share is loaded once per row and a GPU runs a group of threads through one loop, not
   * one loop per output.
   */
  rowSums(r: Region, base: number): string[] {
    const sfx = '_w';
    const row = `b${sfx}`;
    const users = new Map<string, number>();
    for (const v of r.values) for (const x of this.deps(v)) users.set(x, (users.get(x) ?? 0) + 1);
    const shared = new Set([...users.keys()].filter((x) => users.get(x)! > 1));
    const done = new Set<string>();
    const body = this.emit(shared, done, row, sfx);
    r.values.forEach((value, k) => {
      const rest = range(base + k + 1, base + r.values.length);
      const add = [...this.emit(this.deps(value), done, row, sfx), `s${sfx} += ${operand(value, sfx)};`];
      if (rest.length === 0) body.push(...(k === 0 ? add : ['} else {', ...add.map((l) => `  ${l}`), '}']));
      else
        body.push(
          `${k === 0 ? 'if' : '} else if'} (${whichIn([base + k], rest)}) {`,
          ...add.map((l) => `  ${l}`),
        );
    });
    return [
      `if (which > ${base - 0.5}) {`,
      `  let s${sfx} = 0;`,
      `  for (let ${row} = 0; ${row} < B; ${row}++) {`,
      ...body.map((l) => `    ${l}`),
      '  }',
      `  return ${this.array('dPw')}[dPwOff + gate * H + j] + s${sfx};`,
      '}',
    ];
  }

  /** Everything a value needs: `in:NAME` loads, `dot` (the fused recurrent products), `op:i` operations. */
  private deps(v: Operand): Set<string> {
    if (typeof v === 'number') return new Set();
    let s = this.memo.get(v);
    if (!s) {
      const i = this.def.get(v);
      if (i === undefined) s = new Set([this.fused && /^R\d+$/.test(v) ? 'dot' : `in:${v}`]);
      else {
        s = new Set([`op:${i}`]);
        for (const a of this.prog.body[i].args) for (const x of this.deps(a)) s.add(x);
      }
      this.memo.set(v, s);
    }
    return s;
  }

  private cost(item: string): number {
    if (item === 'dot' || (item === 'in:g' && this.spec.gr > 0)) return DOT;
    return 1;
  }

  /**
   * The statements for the items of `need` not yet in `done` (loads first, then operations in
   * order); every name they define takes `sfx`.
   */
  private emit(need: Set<string>, done: Set<string>, row: string, sfx: string): string[] {
    const todo = [...need].filter((x) => !done.has(x));
    for (const x of todo) done.add(x);
    const lines: string[] = [];
    for (const name of this.prog.inputs)
      if (todo.includes(`in:${name}`)) lines.push(...this.load(name, row, sfx));
    if (todo.includes('dot')) lines.push(...this.dot(row, sfx));
    const ops = todo
      .filter((x) => x.startsWith('op:'))
      .map((x) => Number(x.slice(3)))
      .sort((a, b) => a - b)
      .map((i): Instr => {
        const ins = this.prog.body[i];
        return { dst: `${ins.dst}${sfx}`, op: ins.op, args: ins.args.map((a) => renamed(a, sfx)) };
      });
    if (ops.length > 0)
      lines.push(...renderStatements({ inputs: [], body: ops, outputs: [] }, JS, '').split('\n'));
    return lines;
  }

  /** Where an input comes from, at row `row` and unit j (see CellProgram's names). */
  private load(name: string, row: string, sfx: string): string[] {
    const { gx, gr, cacheWidth } = this.spec;
    const k = Number(name.slice(1));
    const v = `${name}${sfx}`;
    const unit = `${row} * H + j`;
    const block = (arr: CellArray, width: number) =>
      `const ${v} = ${this.array(arr)}[${arr}Off + ${k ? `(${row} * ${width} + ${k}) * H` : `${row} * ${width} * H`} + j];`;
    switch (name[0]) {
      case 'P':
        return [block('p', gx)];
      case 'R':
        return [block('r', gr)];
      case 'C':
        return [block('cache', cacheWidth)];
      case 'M':
        return [`const ${v} = ${this.array('pw')}[pwOff${plus(k)} + j];`];
    }
    switch (name) {
      case 'hp':
        return [`const ${v} = ${this.array('hPrev')}[hPrevOff + ${unit}];`];
      case 'cp':
        return [`const ${v} = ${this.array('cPrev')}[cPrevOff + ${unit}];`];
      case 'dc':
        return [`const ${v} = ${this.array('dcCarry')}[dcCarryOff + ${unit}];`];
      case 'g': {
        // the gradient reaching h: dhCarry (+ dR of the step after this one, times whᵀ) (+ dOut)
        const lines = [`let ${v} = ${this.array('dhCarry')}[dhCarryOff + ${unit}];`];
        if (gr > 0) {
          lines.push(
            'if (hasNext > 0.5) {',
            `  const rb${sfx} = dRNextOff + ${row} * ${gr} * H;`,
            `  const wr${sfx} = whOff + j * ${gr} * H;`,
            `  for (let kk${sfx} = 0; kk${sfx} < ${gr} * H; kk${sfx}++) {`,
            `    ${v} += ${this.array('dRNext')}[rb${sfx} + kk${sfx}] * ${this.array('wh')}[wr${sfx} + kk${sfx}];`,
            '  }',
            '}',
          );
        }
        lines.push('if (hasDOut > 0.5) {', `  ${v} += ${this.array('dOut')}[dOutOff + ${unit}];`, '}');
        return lines;
      }
    }
    throw new Error(`cell '${this.spec.name}': no source for the ${this.dir} program's input ${name}`);
  }

  /** R_k = hPrev @ wh (+ bh) for every R the forward reads, in one pass over the row of hPrev. */
  private dot(row: string, sfx: string): string[] {
    const rs = this.prog.inputs
      .filter((n) => /^R\d+$/.test(n))
      .map((n) => Number(n.slice(1)))
      .sort((a, b) => a - b);
    const gr = this.spec.gr;
    const lines = rs.map((k) => `let R${k}${sfx} = 0;`);
    lines.push(
      `const hr${sfx} = hPrevOff + ${row} * H;`,
      `for (let kk${sfx} = 0; kk${sfx} < H; kk${sfx}++) {`,
      `  const hk${sfx} = ${this.array('hPrev')}[hr${sfx} + kk${sfx}];`,
      `  const wk${sfx} = whOff + kk${sfx} * ${gr} * H + j;`,
      ...rs.map((k) => `  R${k}${sfx} += hk${sfx} * ${this.array('wh')}[wk${sfx}${plus(k)}];`),
      '}',
    );
    if (this.spec.hasBh)
      lines.push(...rs.map((k) => `R${k}${sfx} += ${this.array('bh')}[bhOff${plus(k)} + j];`));
    return lines;
  }
}

/** k·H as kernel text, and as a term added to an index. */
export const scaled = (k: number) => (k === 1 ? 'H' : `${k} * H`);
const plus = (k: number) => (k === 0 ? '' : ` + ${scaled(k)}`);

const range = (from: number, to: number) =>
  Array.from({ length: Math.max(0, to - from) }, (_, i) => from + i);
const renamed = (a: Operand, sfx: string): Operand => (typeof a === 'number' ? a : `${a}${sfx}`);
const operand = (a: Operand, sfx: string): string => (typeof a === 'number' ? JS.literal(a) : `${a}${sfx}`);
