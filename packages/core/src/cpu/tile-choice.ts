import { InputError } from '../backend/errors.js';
import type { WasmHeap } from './heap.js';
import type { CpuWasmExports } from './wasm/module.js';

/** Heights of the GEMM's register tile (rows of C per tile): see assembly/cpu/gemm.ts, MR6. */
export type TileRows = 4 | 6;

// Each timing runs the tile this many times over depth 256: 2.5-3.7 M multiply-adds, about 0.15 ms.
const REPS = 300;
// Rounds alternate the two heights. The engine starts a function in its baseline compiler and
// swaps in optimised code after a while (V8's dynamic tiering), so timings continue until both
// have been measured for at least MIN_MS and the best of each is taken (the best, so that moments
// when another process shares the core count as little as possible).
const MIN_ROUNDS = 6;
const MIN_MS = 25;
const MAX_ROUNDS = 200;
// The taller tile must win by this much. Where it spills it runs at half speed or less; where it
// does not, it wins by 10-20% on an idle core but by little on a core whose other hardware thread
// is busy (a busy VM kept the 4×8 once on Node 24), and a near tie keeps the 4×8.
const MARGIN = 1.02;
// Timings need a fine clock: browsers without cross-origin isolation round performance.now() to
// 0.1 ms or more, where timings this short would compare rounding, not tiles.
const MAX_CLOCK_STEP_MS = 0.01;

const now = (): number => globalThis.performance.now();

/** The smallest step performance.now() takes, over a few ticks (spins at most a few ms). */
function clockStep(): number {
  let step = Number.POSITIVE_INFINITY;
  let last = now();
  const end = last + 5;
  for (let ticks = 0; ticks < 5; ) {
    const t = now();
    if (t !== last) {
      step = Math.min(step, t - last);
      last = t;
      ticks++;
    }
    if (t > end) break;
  }
  return step;
}

/**
 * The tile height this engine runs fastest, measured: the 4×8 tile's eight accumulators fit in
 * every engine's registers; the 6×8 tile's twelve do only where the register allocator keeps
 * them (V8 13 with fused multiply-adds: about 15% faster; V8 11-12: spilled, under half speed).
 * Without a fine clock it keeps the 4×8.
 */
export function measureTileRows(wasm: CpuWasmExports, heap: WasmHeap): TileRows {
  if (!(clockStep() <= MAX_CLOCK_STEP_MS)) return 4;
  const bytes = wasm.tileBenchBytes();
  const scratch = heap.alloc(bytes);
  try {
    const best = { 4: Number.POSITIVE_INFINITY, 6: Number.POSITIVE_INFINITY };
    const t0 = now();
    for (let round = 0; round < MAX_ROUNDS; round++) {
      for (const mr of [4, 6] as const) {
        const t = now();
        wasm.tileBench(mr, REPS, scratch);
        // per multiply-add, so that the two heights compare
        best[mr] = Math.min(best[mr], (now() - t) / (mr * 8 * 256 * REPS));
      }
      if (round + 1 >= MIN_ROUNDS && now() - t0 >= MIN_MS) break;
    }
    return best[6] * MARGIN < best[4] ? 6 : 4;
  } finally {
    heap.release(scratch, bytes);
  }
}

/** BISTABLE_CPU_TILE's value as a tile height, undefined when unset; anything else is an error. */
export function tileRowsFromEnv(value: string | undefined): TileRows | undefined {
  if (value === undefined || value === '') return undefined;
  if (value === '4' || value === '6') return Number(value) as TileRows;
  throw new InputError(`BISTABLE_CPU_TILE must be 4 or 6 (rows of the GEMM tile), got '${value}'`);
}
