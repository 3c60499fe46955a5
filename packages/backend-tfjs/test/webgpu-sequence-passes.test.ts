import {
  CELL_NAMES,
  type CellSpec,
  cellSpec,
  type DeviceBuffer,
  KERNEL_LEVEL,
  MultiLayerRNN,
  Rng,
  type SequenceBackwardArgs,
  type SequenceForwardArgs,
} from '@bistable/core';
import {
  type SequenceInputs,
  STEP_KIT_CELL,
  sequenceBackward,
  sequenceForward,
  worstError,
} from '@bistable/core/testing';
import { describe, expect, it, vi } from 'vitest';
import { wgslRunner } from '../src/webgpu/index.js';
import { webgpuSequenceKernels } from '../src/webgpu/sequence-kernels.js';
import { pointwiseCell } from './pointwise-cell.js';
import { backwardArgs, randomGrads, randomSequence } from './sequence-case.js';
import { logSkip, probe, webgpuBackend } from './webgpu-setup.js';

/**
 * The whole-sequence kernels in as few passes as the device's bindings allow: the forward writes
 * the initial zeros itself (zeroState) and wh transposed for the backward, which is then one
 * dispatch. Checked against core's float64 host oracle (sequenceForward and sequenceBackward of
 * '@bistable/core/testing': the cells' host functions and plain loops for the recurrent products),
 * for the four built-in cells and two cells made with defineCell. Needs a WebGPU adapter (lavapipe
 * in CI).
 */
logSkip('sequence-pass tests');

/** No recurrent matrix, but a c and two pointwise parameters (a user's BRC with a cell state). */
const pointwiseC = pointwiseCell('PassesPointwiseC');

/** The built-in four, core's step-kit cell (gr 1, a c, a pointwise parameter) and pointwiseC. */
const CELLS: CellSpec[] = [...CELL_NAMES.map((n) => cellSpec(n)), STEP_KIT_CELL, pointwiseC];

// ------------------------------------------------------------------------------------ device side

interface Case {
  spec: CellSpec;
  host: SequenceInputs;
  /** A plain buffer, or (a case made with `views`) a view in the arena named. */
  put: (d: ArrayLike<number>, arena?: Arena) => DeviceBuffer;
  read: (b: DeviceBuffer) => Promise<Float64Array>;
  fwdArgs: (zeroState: boolean, initSlot: 'zeros' | 'nan') => SequenceForwardArgs;
  done: () => void;
}

/** Buffers that core allocates as views of one buffer each: parameters, incoming and outgoing gradients. */
type Arena = 'params' | 'gradsIn' | 'gradsOut';

async function makeCase(
  spec: CellSpec,
  T: number,
  B: number,
  H: number,
  reverse: boolean,
  seed: number,
  views = false,
) {
  const be = await webgpuBackend();
  const rng = new Rng(seed);
  const live: DeviceBuffer[] = [];
  const plain = (d: ArrayLike<number>) => {
    const b = be.alloc(d.length, 'float32');
    be.write(b, d);
    live.push(b);
    return b;
  };
  // each arena a buffer of its own, carved into views from a nonzero offset
  const v = views ? be : null;
  const arenas = new Map<Arena, { buf: DeviceBuffer; used: number }>();
  const put = (d: ArrayLike<number>, arena?: Arena) => {
    if (!v || !arena) return plain(d);
    let a = arenas.get(arena);
    if (!a) {
      a = { buf: plain(new Float64Array(1 << 14).fill(Number.NaN)), used: v.viewAlign };
      arenas.set(arena, a);
    }
    const view = v.view(a.buf, a.used, d.length);
    a.used += Math.ceil(d.length / v.viewAlign) * v.viewAlign;
    be.write(view, d);
    return view;
  };
  const read = async (b: DeviceBuffer) => Float64Array.from(await be.read(b));
  const BH = B * H;
  const host = randomSequence(spec, rng, T, B, H, reverse);
  const P = put(host.p);
  const WH = host.wh ? put(host.wh, 'params') : null;
  const BHb = host.bh ? put(host.bh, 'params') : null;
  const PW = host.pw ? put(host.pw, 'params') : null;
  /** hAll and cAll NaN everywhere but (initSlot 'zeros') the initial slot. */
  const states = (initSlot: 'zeros' | 'nan') => {
    const all = new Float64Array((T + 1) * BH).fill(Number.NaN);
    if (initSlot === 'zeros') all.fill(0, (reverse ? T : 0) * BH, (reverse ? T + 1 : 1) * BH);
    return all;
  };
  const fwdArgs = (zeroState: boolean, initSlot: 'zeros' | 'nan'): SequenceForwardArgs => ({
    T,
    B,
    H,
    reverse,
    p: P,
    wh: WH,
    bh: BHb,
    pw: PW,
    hAll: put(states(initSlot)),
    cAll: spec.hasCellState ? put(states(initSlot)) : null,
    cache: put(new Float64Array(T * B * spec.cacheWidth * H).fill(Number.NaN)),
    zeroState,
  });
  const done = () => {
    for (const b of live.splice(0)) be.dispose(b);
  };
  return { spec, host, put, read, fwdArgs, done } satisfies Case;
}

/** Fused dispatches that `f` records. */
async function dispatches(f: () => void | Promise<void>): Promise<number> {
  const runner = wgslRunner();
  const before = runner.stats.dispatches;
  await f();
  return runner.stats.dispatches - before;
}

const GRAD_SETS = {
  /** a lower layer: the gradient reaches the outputs only */
  dOut: { dOut: true, dhN: false },
  /** the top layer under a 'last' readout: the final state only */
  dhN: { dOut: false, dhN: true },
  /** both, with dcN: the most operands a backward takes */
  all: { dOut: true, dhN: true },
} as const;

/**
 * Runs the backward (after the forward `fwd` of the case, whose states it reads) with the
 * gradients of `set` and a wh buffer holding `whValues` (`whBuf`: that buffer, null: the case's
 * own, which the forward saw). Returns the dispatches and the worst error against the oracle.
 */
async function backwardCase(
  c: Case,
  fwd: SequenceForwardArgs,
  set: keyof typeof GRAD_SETS,
  whBuf: DeviceBuffer | null = null,
  whValues: Float64Array | null = c.host.wh,
) {
  const { spec, host, put, read } = c;
  const { T, B, H } = host;
  const g = randomGrads(spec, new Rng(99), T, B, H, GRAD_SETS[set]);
  const nan = (n: number) => put(new Float64Array(n).fill(Number.NaN), 'gradsOut');
  const a: SequenceBackwardArgs = {
    ...backwardArgs(spec, fwd, g, (d) => put(d, 'gradsIn'), nan),
    wh: whBuf ?? fwd.wh,
  };
  const n = await dispatches(() => webgpuSequenceKernels(spec).backward(a));
  const wantG = sequenceBackward(spec, { ...host, ...sequenceForward(spec, host), wh: whValues, ...g });
  const errs: [string, number][] = [
    ['dP', worstError(await read(a.dP), wantG.dP)],
    ['dh0', worstError(await read(a.dh0), wantG.dh0)],
  ];
  if (a.dR) errs.push(['dR', worstError(await read(a.dR), wantG.dR!)]);
  if (a.dc0) errs.push(['dc0', worstError(await read(a.dc0), wantG.dc0!)]);
  if (a.dPw) errs.push(['dPw', worstError(await read(a.dPw), wantG.dPw!)]);
  // every output, for comparing two runs bit for bit
  const got = {
    dP: await read(a.dP),
    dh0: await read(a.dh0),
    dR: a.dR ? await read(a.dR) : null,
    dc0: a.dc0 ? await read(a.dc0) : null,
    dPw: a.dPw ? await read(a.dPw) : null,
  };
  return { dispatches: n, worst: errs.sort((x, y) => y[1] - x[1])[0], got };
}

/** Backward dispatches expected after a forward: one, plus the rows' dPw reduce of a recurrent cell. */
const expectedBackward = (spec: CellSpec, B: number) => (spec.gr > 0 && spec.npw > 0 && B > 1 ? 2 : 1);

describe.skipIf(!probe.ok)('tfjs-webgpu whole-sequence kernels: passes per layer', () => {
  it('declare writesZeroState', () => {
    for (const spec of CELLS) expect(webgpuSequenceKernels(spec).writesZeroState, spec.name).toBe(true);
  });

  for (const spec of CELLS) {
    for (const reverse of [false, true]) {
      it(`${spec.name}${reverse ? ', reverse' : ''}: the zeroState forward is one dispatch, writes the zeros and equals a forward after a zero fill, bit for bit`, async () => {
        const [T, B, H] = [4, 3, 5];
        const c = await makeCase(spec, T, B, H, reverse, 11);
        try {
          const kernels = webgpuSequenceKernels(spec);
          const zs = c.fwdArgs(true, 'nan');
          const filled = c.fwdArgs(false, 'zeros');
          expect(await dispatches(() => kernels.forward(zs))).toBe(1);
          expect(await dispatches(() => kernels.forward(filled))).toBe(1);
          const BH = B * H;
          const slot = (reverse ? T : 0) * BH;
          const hz = await c.read(zs.hAll);
          expect(Array.from(hz.subarray(slot, slot + BH))).toEqual(new Array(BH).fill(0));
          expect(hz).toEqual(await c.read(filled.hAll));
          expect(await c.read(zs.cache)).toEqual(await c.read(filled.cache));
          if (zs.cAll) {
            const cz = await c.read(zs.cAll);
            expect(Array.from(cz.subarray(slot, slot + BH))).toEqual(new Array(BH).fill(0));
            expect(cz).toEqual(await c.read(filled.cAll!));
          }
          // and both are right
          const want = sequenceForward(spec, c.host);
          expect(worstError(hz, want.hAll)).toBeLessThan(1e-4);
          expect(worstError(await c.read(zs.cache), want.cache)).toBeLessThan(1e-4);
          if (zs.cAll) expect(worstError(await c.read(zs.cAll), want.cAll!)).toBeLessThan(1e-4);
        } finally {
          c.done();
        }
      });
    }
  }

  for (const spec of CELLS) {
    it(`${spec.name}: the backward after a forward is ${expectedBackward(spec, 3)} dispatch(es), for every gradient set and direction`, async () => {
      const [T, B, H] = [4, 3, 5];
      for (const reverse of [false, true]) {
        const c = await makeCase(spec, T, B, H, reverse, 21);
        try {
          const fwd = c.fwdArgs(true, 'nan');
          await webgpuSequenceKernels(spec).forward(fwd);
          for (const set of Object.keys(GRAD_SETS) as (keyof typeof GRAD_SETS)[]) {
            const r = await backwardCase(c, fwd, set);
            expect(r.worst[1], `${set}, reverse ${reverse}: ${r.worst[0]}`).toBeLessThan(1e-4);
            expect(r.dispatches, `${set}, reverse ${reverse}`).toBe(expectedBackward(spec, B));
          }
        } finally {
          c.done();
        }
      }
    });
  }

  for (const spec of CELLS.filter((s) => s.gr > 0)) {
    it(`${spec.name}: a backward given a wh no forward saw transposes that wh itself (one pass more) and is right`, async () => {
      const [T, B, H] = [4, 3, 5];
      const c = await makeCase(spec, T, B, H, false, 31);
      try {
        const fwd = c.fwdArgs(true, 'nan');
        await webgpuSequenceKernels(spec).forward(fwd);
        const fast = await backwardCase(c, fwd, 'all');
        // other values: a stale transposed copy of the forward's wh would give other gradients
        const other = Float64Array.from(c.host.wh!, (v, i) => v * 0.5 + 0.1 * Math.sin(i));
        const r = await backwardCase(c, fwd, 'all', c.put(other), other);
        expect(r.worst[1], r.worst[0]).toBeLessThan(1e-4);
        expect(r.dispatches).toBe(fast.dispatches + 1);
        // the same values in another buffer: the same gradients, bit for bit
        const same = await backwardCase(c, fwd, 'all', c.put(c.host.wh!), c.host.wh);
        expect(same.got).toEqual(fast.got);
        expect(same.dispatches).toBe(fast.dispatches + 1);
        // the forward's own wh still finds its copy
        expect((await backwardCase(c, fwd, 'all')).dispatches).toBe(fast.dispatches);
      } finally {
        c.done();
      }
    });
  }

  for (const spec of [cellSpec('LSTM'), STEP_KIT_CELL, cellSpec('BRC'), pointwiseC]) {
    it(`${spec.name}: parameters and gradients as views of one buffer each, the same passes`, async () => {
      const [T, B, H] = [4, 3, 5];
      const c = await makeCase(spec, T, B, H, true, 61, true);
      try {
        const fwd = c.fwdArgs(true, 'nan');
        expect(await dispatches(() => webgpuSequenceKernels(spec).forward(fwd))).toBe(1);
        expect(worstError(await c.read(fwd.hAll), sequenceForward(spec, c.host).hAll)).toBeLessThan(1e-4);
        for (const set of Object.keys(GRAD_SETS) as (keyof typeof GRAD_SETS)[]) {
          const r = await backwardCase(c, fwd, set);
          expect(r.worst[1], `${set}: ${r.worst[0]}`).toBeLessThan(1e-4);
          expect(r.dispatches, set).toBe(expectedBackward(spec, B));
        }
      } finally {
        c.done();
      }
    });
  }

  it("releases a weight's transposed copy with the buffer it is a view of, once recorded work is done", async () => {
    const runner = wgslRunner();
    const retire = vi.spyOn(runner, 'retire');
    const c = await makeCase(cellSpec('GRU'), 4, 3, 5, false, 71, true);
    const fwd = c.fwdArgs(true, 'nan');
    try {
      await webgpuSequenceKernels(cellSpec('GRU')).forward(fwd);
      // a backward binds the copy the forward left: no transposing pass of its own
      expect((await backwardCase(c, fwd, 'all')).dispatches).toBe(expectedBackward(cellSpec('GRU'), 3));
      expect(retire).not.toHaveBeenCalled();
    } finally {
      c.done();
    }
    // disposing the arena wh is a view of retires its copy; the next sync destroys it
    expect(retire).toHaveBeenCalledTimes(1);
    const copy = retire.mock.calls[0][0];
    const destroy = vi.spyOn(copy, 'destroy');
    await runner.sync();
    expect(destroy).toHaveBeenCalledTimes(1);
    retire.mockRestore();
  });

  it('a recurrent cell with pointwise parameters and one row needs no reduce pass: one dispatch', async () => {
    const c = await makeCase(STEP_KIT_CELL, 5, 1, 6, true, 41);
    try {
      const fwd = c.fwdArgs(true, 'nan');
      await webgpuSequenceKernels(STEP_KIT_CELL).forward(fwd);
      for (const set of Object.keys(GRAD_SETS) as (keyof typeof GRAD_SETS)[]) {
        const r = await backwardCase(c, fwd, set);
        expect(r.worst[1], `${set}: ${r.worst[0]}`).toBeLessThan(1e-4);
        expect(r.dispatches, set).toBe(1);
      }
    } finally {
      c.done();
    }
  });

  it('BRC with more rows than a workgroup sums dPw in a second dispatch, and is right', async () => {
    const spec = cellSpec('BRC');
    const c = await makeCase(spec, 3, 300, 3, false, 51);
    try {
      const fwd = c.fwdArgs(true, 'nan');
      await webgpuSequenceKernels(spec).forward(fwd);
      const r = await backwardCase(c, fwd, 'all');
      expect(r.worst[1], r.worst[0]).toBeLessThan(1e-4);
      expect(r.dispatches).toBe(2);
    } finally {
      c.done();
    }
  });

  it('a 2-layer RNN runs one sequence dispatch per layer each way, and no other sequence pass', async () => {
    const be = await webgpuBackend();
    const runner = wgslRunner();
    for (const name of CELL_NAMES) {
      const rnn = new MultiLayerRNN(be, {
        cell: name,
        inputSize: 2,
        hiddenSize: 16,
        numLayers: 2,
        seed: 3,
        maxLevel: KERNEL_LEVEL.sequence,
      });
      const keys: string[] = [];
      const run = runner.run.bind(runner);
      runner.run = (spec) => {
        keys.push(spec.key.split('/')[0]);
        run(spec);
      };
      try {
        const [B, T, H] = [16, 6, 16];
        const x = { shape: [B, T, 2], data: Array.from({ length: B * T * 2 }, (_, i) => Math.sin(i)) };
        await rnn.forward(x);
        const fwdKeys = keys.splice(0).filter((k) => k.startsWith('seq-'));
        // gradients on the outputs and on the final states (a 'last' readout's)
        const L = 2;
        await rnn.backward({
          output: { shape: [B, T, H], data: Array.from({ length: B * T * H }, (_, i) => Math.cos(i)) },
          hN: { shape: [L, B, H], data: Array.from({ length: L * B * H }, (_, i) => Math.sin(2 * i)) },
          cN:
            name === 'LSTM'
              ? { shape: [L, B, H], data: Array.from({ length: L * B * H }, (_, i) => Math.cos(3 * i)) }
              : undefined,
        });
        const bwdKeys = keys.splice(0).filter((k) => k.startsWith('seq-'));
        const fwdKey = cellSpec(name).gr > 0 ? 'seq-fwd' : 'seq-fwd-pw';
        const bwdKey = cellSpec(name).gr > 0 ? 'seq-bwd' : 'seq-bwd-pw';
        expect(fwdKeys, name).toEqual([fwdKey, fwdKey]);
        expect(bwdKeys, name).toEqual([bwdKey, bwdKey]);
      } finally {
        runner.run = run;
        rnn.dispose();
      }
    }
  });
});
