export { type MemorySample, memorySample } from './memory.js';
export { summarize, type TimingStats } from './stats.js';
export {
  type BenchDeviceCounts,
  type BenchOptions,
  type BenchResult,
  benchAlternating,
  benchEnsemble,
  benchSideBySide,
  benchTraining,
  type StepCounts,
  TrainingBench,
} from './training-bench.js';
export { inferenceMultiplyAdds, trainingMultiplyAdds } from './work.js';
