import { nodeModule } from '../node-module.js';
import type { WasmMemory, WasmModule } from './wasm/api.js';
import { type CpuWasmExports, PARALLEL_KERNELS, type ParallelKernel } from './wasm/module.js';

/**
 * Runs a parallel kernel as thread 0 of `nt` on the calling thread while the workers run
 * threads 1…nt−1, and returns when all are done. Synchronous, like the rest of the backend.
 */
export interface Dispatcher {
  readonly threads: number;
  /** `parallel` false: the calling thread alone (work too small to be worth waking the others). */
  run(kernel: ParallelKernel, args: number[], parallel: boolean): void;
  close(): void;
}

/** One thread: the calling one. */
export function singleThread(wasm: CpuWasmExports): Dispatcher {
  return {
    threads: 1,
    run(kernel, args) {
      (wasm[kernel] as (...a: number[]) => void)(0, 1, ...args);
    },
    close() {},
  };
}

// control block (Int32 slots): generation, kernel, arg count, done count, failure flag
const GEN = 0;
const KERNEL = 1;
const NARGS = 2;
const DONE = 3;
const FAILED = 4;
const SHUTDOWN = -1;
const ARGS_BYTE_OFFSET = 64;
const MAX_ARGS = 32;
/** Polls of the calling thread before it sleeps while waiting for the workers. */
const SPINS = 20000;
/** How long an idle worker polls before it sleeps (ms). */
const WORKER_SPIN_MS = 2;
const READY_TIMEOUT_MS = 30_000;

// The worker is plain JavaScript evaluated from a string: no file to resolve, whatever bundles
// or transpiles core. It instantiates the same module on the same memory and loops on the
// control block.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { module, memory, control, tid, nt, names } = workerData;
const instance = new WebAssembly.Instance(module, { env: { memory, abort() { throw new Error('cpu kernel aborted'); } } });
const fns = names.map((n) => instance.exports[n]);
const ctl = new Int32Array(control, 0, 16);
const args = new Float64Array(control, ${ARGS_BYTE_OFFSET}, ${MAX_ARGS});
// generation 0 is the idle state: nothing is dispatched before every worker reported ready
let seen = 0;
parentPort.postMessage('ready');
for (;;) {
  // poll for a while first: the next kernel of a training step usually follows within microseconds,
  // and waking a sleeping thread costs tens of microseconds (far more on a busy machine)
  let spins = 0;
  let since = performance.now();
  while (Atomics.load(ctl, ${GEN}) === seen) {
    if (++spins % 1024 === 0 && performance.now() - since > ${WORKER_SPIN_MS}) {
      Atomics.wait(ctl, ${GEN}, seen);
      since = performance.now();
    }
  }
  seen = Atomics.load(ctl, ${GEN});
  const k = ctl[${KERNEL}];
  if (k === ${SHUTDOWN}) break;
  try {
    fns[k](tid, nt, ...Array.from(args.subarray(0, ctl[${NARGS}])));
  } catch (e) {
    Atomics.store(ctl, ${FAILED}, 1);
  }
  Atomics.add(ctl, ${DONE}, 1);
  Atomics.notify(ctl, ${DONE});
}
`;

interface NodeWorker {
  postMessage(v: unknown): void;
  once(event: 'message' | 'error' | 'exit', cb: (v: unknown) => void): void;
  unref(): void;
  terminate(): Promise<number>;
}

/**
 * Worker threads on Node (loaded lazily, so core imports nothing Node-only at the top level).
 * Returns null where there are none to be had.
 */
export async function workerThreads(
  wasm: CpuWasmExports,
  module: WasmModule,
  memory: WasmMemory,
  threads: number,
): Promise<Dispatcher | null> {
  if (threads < 2) return null;
  let Worker: new (src: string, opts: { eval: true; workerData: unknown }) => NodeWorker;
  try {
    ({ Worker } = await nodeModule<{ Worker: typeof Worker }>('node:worker_threads'));
  } catch {
    return null;
  }
  const control = new SharedArrayBuffer(ARGS_BYTE_OFFSET + 8 * MAX_ARGS);
  const ctl = new Int32Array(control, 0, 16);
  const argv = new Float64Array(control, ARGS_BYTE_OFFSET, MAX_ARGS);
  const names = [...PARALLEL_KERNELS];
  const workers: NodeWorker[] = [];
  try {
    for (let tid = 1; tid < threads; tid++) {
      const w = new Worker(WORKER_SOURCE, {
        eval: true,
        workerData: { module, memory, control, tid, nt: threads, names },
      });
      workers.push(w);
      await new Promise<void>((resolve, reject) => {
        // a runtime that starts the worker but cannot run it must not hang the backend's init
        const timer = setTimeout(() => reject(new Error('worker did not start')), READY_TIMEOUT_MS);
        w.once('message', () => {
          clearTimeout(timer);
          resolve();
        });
        w.once('error', (e) => {
          clearTimeout(timer);
          reject(e);
        });
      });
      w.unref();
    }
  } catch {
    for (const w of workers) void w.terminate();
    return null;
  }
  let closed = false;
  return {
    threads,
    run(kernel, args, parallel) {
      if (!parallel || closed) {
        (wasm[kernel] as (...a: number[]) => void)(0, 1, ...args);
        return;
      }
      if (args.length > MAX_ARGS) throw new Error(`too many kernel arguments (${args.length})`);
      const nt = threads;
      argv.set(args);
      ctl[KERNEL] = names.indexOf(kernel);
      ctl[NARGS] = args.length;
      Atomics.store(ctl, DONE, 0);
      Atomics.store(ctl, FAILED, 0);
      Atomics.add(ctl, GEN, 1);
      Atomics.notify(ctl, GEN);
      let error: unknown = null;
      try {
        (wasm[kernel] as (...a: number[]) => void)(0, nt, ...args);
      } catch (e) {
        error = e;
      }
      let spins = 0;
      for (let d = Atomics.load(ctl, DONE); d < nt - 1; d = Atomics.load(ctl, DONE)) {
        if (++spins > SPINS) Atomics.wait(ctl, DONE, d, 50);
      }
      if (error) throw error;
      if (Atomics.load(ctl, FAILED)) throw new Error(`a cpu worker thread failed in ${kernel}`);
    },
    close() {
      if (closed) return;
      closed = true;
      ctl[KERNEL] = SHUTDOWN;
      Atomics.add(ctl, GEN, 1);
      Atomics.notify(ctl, GEN);
      for (const w of workers) void w.terminate();
    },
  };
}
