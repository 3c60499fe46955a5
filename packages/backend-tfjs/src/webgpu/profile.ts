import {
  type Backend,
  benchTraining,
  CELL_NAMES,
  type CellSpec,
  cellSpec,
  type DeviceBuffer,
  type GemmArgs,
  getBackend,
  offeredKernels,
} from '@bistable/core';
import { TfjsBackend } from '../backend.js';
import { WebgpuTfjsBackend } from './backend.js';
import { webgpuCellKernels } from './cell-kernels.js';
import { wgslRunner } from './runner.js';

/**
 * Where the time of a tfjs-webgpu training step goes, measured on the device at hand: the cost
 * of one dispatch, the GEMMs of a training step (WGSL against tfjs's matMul path), the
 * whole-sequence kernels per time step, and full training steps. Every timing ends with the
 * device synchronised (queue.onSubmittedWorkDone).
 */
export interface ProfileOptions {
  /** Small sizes, for a smoke run on a software adapter. */
  quick?: boolean;
  log?: (line: string) => void;
}

/**
 * tfjs's generic ops (the package's other backends' path) for the GEMMs, copies and Adam, the WGSL
 * cell kernels, and a sync that waits for the device.
 */
class GenericWebgpu extends TfjsBackend {
  constructor() {
    super('tfjs-webgpu', 'webgpu');
    this.kernelSource = webgpuCellKernels;
  }

  override async sync(): Promise<void> {
    await wgslRunner().sync();
  }
}

async function timed(be: Backend, reps: number, f: () => void | Promise<void>): Promise<number> {
  await f();
  await be.sync!();
  const t0 = performance.now();
  for (let i = 0; i < reps; i++) await f();
  await be.sync!();
  return (performance.now() - t0) / reps;
}

function gemmShapes(spec: CellSpec, B: number, T: number, H: number) {
  const { gx, gr } = spec;
  const TB = T * B;
  const s: { what: string; m: number; n: number; k: number; transA: boolean; transB: boolean }[] = [
    { what: 'input projection, layer 2', m: TB, n: gx * H, k: H, transA: false, transB: false },
    { what: 'input projection, input 1', m: TB, n: gx * H, k: 1, transA: false, transB: false },
    { what: 'wx gradient, layer 2', m: H, n: gx * H, k: TB, transA: true, transB: false },
    { what: 'input gradient, layer 2', m: TB, n: H, k: gx * H, transA: false, transB: true },
    { what: 'bias gradient (column sums)', m: 1, n: gx * H, k: TB, transA: false, transB: false },
  ];
  if (gr > 0) s.push({ what: 'wh gradient', m: H, n: gr * H, k: TB, transA: true, transB: false });
  return s;
}

async function gemmTime(
  be: Backend,
  sh: ReturnType<typeof gemmShapes>[number],
  reps: number,
): Promise<number> {
  const { m, n, k, transA, transB } = sh;
  const a = be.alloc(m * k, 'float32');
  const b = be.alloc(k * n, 'float32');
  const c = be.alloc(m * n, 'float32');
  be.fill(a, 0.5);
  be.fill(b, 0.25);
  const g: GemmArgs = {
    transA,
    transB,
    m,
    n,
    k,
    alpha: 1,
    beta: 0,
    a,
    aOffset: 0,
    lda: transA ? m : k,
    b,
    bOffset: 0,
    ldb: transB ? k : n,
    c,
    cOffset: 0,
    ldc: n,
  };
  try {
    return await timed(be, reps, () => be.gemm(g));
  } finally {
    for (const x of [a, b, c]) be.dispose(x);
  }
}

async function sequenceTimes(be: Backend, spec: CellSpec, B: number, T: number, H: number, reps: number) {
  const k = offeredKernels(be, spec).sequence;
  if (!k) throw new Error(`no sequence kernels for ${spec.name} on ${be.name}`);
  const bufs: DeviceBuffer[] = [];
  const alloc = (n: number) => {
    const x = be.alloc(n, 'float32');
    bufs.push(x);
    return x;
  };
  const BH = B * H;
  const p = alloc(T * B * spec.gx * H);
  be.fill(p, 0.1);
  const wh = spec.gr > 0 ? alloc(H * spec.gr * H) : null;
  if (wh) be.fill(wh, 0.01);
  const bh = spec.hasBh ? alloc(spec.gr * H) : null;
  const pw = spec.npw > 0 ? alloc(spec.npw * H) : null;
  if (pw) be.fill(pw, 1);
  const hAll = alloc((T + 1) * BH);
  const cAll = spec.hasCellState ? alloc((T + 1) * BH) : null;
  const cache = alloc(T * B * spec.cacheWidth * H);
  const dOut = alloc(T * BH);
  be.fill(dOut, 0.01);
  const dP = alloc(T * B * spec.gx * H);
  const dR = spec.gr > 0 ? alloc(T * B * spec.gr * H) : null;
  const dh0 = alloc(BH);
  const dc0 = spec.hasCellState ? alloc(BH) : null;
  const dPw = pw ? alloc(spec.npw * H) : null;
  try {
    const fwd = await timed(be, reps, () =>
      k.forward({ T, B, H, reverse: false, p, wh, bh, pw, hAll, cAll, cache }),
    );
    const bwd = await timed(be, reps, () =>
      k.backward({
        T,
        B,
        H,
        reverse: false,
        wh,
        pw,
        hAll,
        cAll,
        cache,
        dOut,
        dhN: null,
        dcN: null,
        dP,
        dR,
        dh0,
        dc0,
        dPw,
      }),
    );
    return {
      forwardMs: fwd,
      backwardMs: bwd,
      forwardUsPerStep: (fwd / T) * 1000,
      backwardUsPerStep: (bwd / T) * 1000,
    };
  } finally {
    for (const x of bufs) be.dispose(x);
  }
}

/** Runs one measurement; a failure (a device limit, say) is logged and the profile goes on. */
async function attempt<T>(
  log: (s: string) => void,
  what: string,
  f: () => Promise<T>,
): Promise<T | { error: string }> {
  try {
    return await f();
  } catch (err) {
    const msg = err instanceof Error ? err.message.split('\n')[0] : String(err);
    log(`${what}: FAILED (${msg})`);
    return { error: msg };
  }
}

export async function profileWebgpu(opts: ProfileOptions = {}): Promise<Record<string, unknown>> {
  const log = opts.log ?? ((s: string) => console.log(s));
  const q = opts.quick ?? false;
  await getBackend('tfjs-webgpu');
  const runner = wgslRunner();
  const be = new WebgpuTfjsBackend();
  const generic = new GenericWebgpu();
  const report: Record<string, unknown> = {};
  const gpu = (globalThis as { navigator?: { gpu?: GPU } }).navigator?.gpu;
  const info = (await gpu?.requestAdapter({ powerPreference: 'high-performance' }))?.info;
  report.adapter = info
    ? { vendor: info.vendor, architecture: info.architecture, description: info.description }
    : null;
  log(`adapter: ${JSON.stringify(report.adapter)}`);

  // one dispatch: host time to record it, device time per dispatch inside one pass
  const n = q ? 200 : 2000;
  const tiny = be.alloc(64, 'float32');
  be.fill(tiny, 0);
  await be.sync();
  const t0 = performance.now();
  for (let i = 0; i < n; i++) be.fill(tiny, i, 0, 64);
  const t1 = performance.now();
  await be.sync();
  const t2 = performance.now();
  be.dispose(tiny);
  report.dispatch = { recordUs: ((t1 - t0) / n) * 1000, wallUs: ((t2 - t0) / n) * 1000 };
  log(
    `dispatch: ${((t1 - t0) / n) * 1000} µs to record, ${((t2 - t0) / n) * 1000} µs wall per tiny dispatch (${n} in a row)`,
  );

  const [B, T, H] = q ? [8, 20, 16] : [100, 300, 100];
  const reps = q ? 2 : 10;
  const gemms: unknown[] = [];
  for (const cell of ['nBRC', 'LSTM'] as const) {
    for (const sh of gemmShapes(cellSpec(cell), B, T, H)) {
      const flop = 2 * sh.m * sh.n * sh.k;
      const w = await gemmTime(be, sh, reps);
      const tr = await attempt(log, `gemm ${sh.what} on tfjs ops`, () => gemmTime(generic, sh, reps));
      const t = typeof tr === 'number' ? tr : Number.NaN;
      gemms.push({
        cell,
        ...sh,
        wgslMs: w,
        tfjsMs: t,
        wgslTflops: flop / w / 1e9,
        tfjsTflops: flop / t / 1e9,
      });
      log(
        `gemm ${cell} ${sh.what} [${sh.m}×${sh.k}]·[${sh.k}×${sh.n}]: WGSL ${w.toFixed(3)} ms (${(flop / w / 1e9).toPrecision(3)} TFLOP/s), ` +
          `tfjs ops ${t.toFixed(3)} ms`,
      );
    }
  }
  report.gemm = gemms;

  const seq: unknown[] = [];
  const sizes: [number, number, number, number][] = q
    ? [[8, 20, 16, 2]]
    : [
        [100, 300, 100, 10],
        [1000, 1000, 256, 2],
      ];
  for (const [b, t, h, r] of sizes) {
    for (const cell of CELL_NAMES) {
      const s = await attempt(log, `sequence kernels ${cell} B=${b} T=${t} H=${h}`, () =>
        sequenceTimes(be, cellSpec(cell), b, t, h, r),
      );
      if ('error' in s) continue;
      seq.push({ cell, B: b, T: t, H: h, ...s });
      log(
        `sequence kernels ${cell} B=${b} T=${t} H=${h}: forward ${s.forwardMs.toFixed(3)} ms (${s.forwardUsPerStep.toFixed(2)} µs/step), ` +
          `backward ${s.backwardMs.toFixed(3)} ms (${s.backwardUsPerStep.toFixed(2)} µs/step)`,
      );
    }
  }
  report.sequence = seq;

  const train: unknown[] = [];
  for (const cell of CELL_NAMES) {
    for (const seqLen of q ? [10] : [100, 300]) {
      for (const b of [be, generic]) {
        const label = b === be ? 'WGSL backend' : 'tfjs ops + WGSL sequence kernels';
        const r = await attempt(log, `training step ${cell} T=${seqLen} (${label})`, () =>
          benchTraining(b, {
            cell,
            seqLen,
            batch: B,
            hidden: H,
            layers: 2,
            steps: q ? 2 : 10,
            warmup: 2,
            inferenceSteps: 0,
          }),
        );
        if ('error' in r) continue;
        train.push({ cell, seqLen, backend: label, medianMs: r.train.median, minMs: r.train.min });
        log(
          `training step ${cell} T=${seqLen} B=${B} H=${H} (${label}): median ${r.train.median.toFixed(2)} ms, min ${r.train.min.toFixed(2)} ms`,
        );
      }
    }
  }
  report.training = train;
  report.stats = { ...runner.stats };
  return report;
}
