// Entry of the cpu backend's WebAssembly module: every export takes byte addresses into the one
// linear memory that JavaScript manages (no allocator runs in here, so instances on several
// threads can share that memory). Build: `pnpm --filter @bistable/core build:wasm`.
export { ger, rowDots, rowTimesMatrix, sgemm, sgemmScratchBytes, tileBench, tileBenchBytes } from './gemm';
export { activate } from './activations';
export { adam } from './optim';
export { staticDataEnd } from './simd-math';
export { seqBackward, seqForward, seqReduce, seqScratchBytes } from './sequence';
// the shape tables, exported so that test/cpu-wasm-tables.test.ts checks them against the recipes
export { CELL_BRC, CELL_GRU, CELL_LSTM, CELL_NBRC, cellCache, cellGr, cellGx, cellHasBh, cellNbx, cellNpw } from './cells';
