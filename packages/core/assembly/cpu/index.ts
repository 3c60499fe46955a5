// Entry of the cpu backend's WebAssembly module: every export takes byte addresses into the one
// linear memory that JavaScript manages (no allocator runs in here, so instances on several
// threads can share that memory). Build: `pnpm --filter @bistable/core build:wasm`.
export { ger, rowDots, rowTimesMatrix, sgemm, sgemmScratchBytes } from './gemm';
export { adam } from './optim';
export { seqBackward, seqForward, seqReduce, seqScratchBytes } from './sequence';
