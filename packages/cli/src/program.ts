import { Command } from 'commander';
import { registerBackendsCommand } from './commands/backends.js';
import { registerBenchCommand } from './commands/bench.js';
import { registerPlotCommand } from './commands/plot.js';
import { registerReproduceCommand } from './commands/reproduce.js';
import { registerTrainCommand } from './commands/train.js';
import { registerVerifyCommand } from './commands/verify.js';
import { registerWorkerCommand } from './commands/worker.js';

/** The `bistable` program. Each command lives in its own file under commands/. */
export function buildProgram(): Command {
  const program = new Command('bistable')
    .description('bistable recurrent cells (BRC, nBRC) with GRU and LSTM, on any backend')
    .version('0.1.0')
    .showHelpAfterError()
    .exitOverride();
  registerBackendsCommand(program);
  registerVerifyCommand(program);
  registerTrainCommand(program);
  registerReproduceCommand(program);
  registerPlotCommand(program);
  registerBenchCommand(program);
  registerWorkerCommand(program);
  return program;
}
