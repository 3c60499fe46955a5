import { type DType, getBackend } from '@bistable/core';
import {
  bundledGoldenPath,
  type CaseResult,
  formatStepKitResult,
  loadGolden,
  runConformance,
  runStepKit,
  type StepKitResult,
} from '@bistable/core/testing';
import type { Command } from 'commander';
import { discoverBackends } from '../discover.js';
import { CliError, EXIT_FAILED, EXIT_USAGE } from '../exit-codes.js';
import { dtypeOption } from '../studies/options.js';
import { printTable } from '../table.js';

interface VerifyOptions {
  golden: string;
  backend: string;
  dtype?: string;
  json?: boolean;
  stepKit?: boolean;
}

/**
 * Runs an oracle file through a backend at every kernel level it offers, and with `stepKit` core's
 * per-step kit over every kernel it offers; returns the results.
 */
export async function verify(
  opts: VerifyOptions,
): Promise<{ backend: string; dtype: DType; results: CaseResult[]; stepKit: StepKitResult[] | null }> {
  const given = opts.dtype === undefined ? undefined : dtypeOption('--dtype', opts.dtype);
  await discoverBackends();
  const golden = await loadGolden(opts.golden);
  const be = await getBackend(opts.backend);
  const dtype: DType = given ?? (be.dtypes.includes('float64') ? 'float64' : 'float32');
  if (!be.dtypes.includes(dtype)) {
    throw new CliError(
      `backend '${be.name}' does not support ${dtype}; it supports ${be.dtypes.join(', ')}`,
      EXIT_USAGE,
    );
  }
  const results = await runConformance(golden, be, dtype);
  // each fused kernel on its own, against core's host functions on random shapes
  const stepKit = opts.stepKit ? await runStepKit(be, { dtype }) : null;
  return { backend: be.name, dtype, results, stepKit };
}

export function registerVerifyCommand(program: Command): void {
  program
    .command('verify')
    .description('check a backend against reference vectors (PyTorch oracle schema) at every kernel level')
    .option('--golden <file>', 'oracle file', bundledGoldenPath())
    .option('--backend <name>', "backend name, or 'auto'", 'auto')
    .option('--dtype <dtype>', 'float64 or float32 (default: float64 where the backend supports it)')
    .option('--step-kit', "also check each step and sequence kernel on its own against core's host math")
    .option('--json', 'print JSON')
    .action(async (opts: VerifyOptions) => {
      const { backend, dtype, results, stepKit } = await verify(opts);
      const failed = results.filter((r) => !r.passed);
      const kitFailed = (stepKit ?? []).filter((r) => !r.passed);
      if (opts.json) {
        const passed = failed.length === 0 && kitFailed.length === 0;
        console.log(
          JSON.stringify({ backend, dtype, passed, results, ...(stepKit ? { stepKit } : {}) }, null, 2),
        );
      } else {
        console.log(`verify: backend ${backend}, ${dtype}, ${opts.golden}`);
        printTable(
          ['case', 'level', 'forward err', 'gradient err', 'tolerance', 'result'],
          results.map((r) => [
            r.id,
            String(r.level),
            r.forwardError.toExponential(2),
            r.gradientError.toExponential(2),
            `${r.forwardTolerance.toExponential(0)} / ${r.gradientTolerance.toExponential(0)}`,
            r.passed ? 'pass' : `FAIL (worst: ${r.worst})`,
          ]),
        );
        console.log(`${results.length - failed.length} of ${results.length} cases within tolerance`);
        if (stepKit) {
          for (const r of kitFailed) console.log(formatStepKitResult(r));
          console.log(
            `step kit: ${stepKit.length - kitFailed.length} of ${stepKit.length} kernel cases within tolerance`,
          );
        }
      }
      if (failed.length > 0 || kitFailed.length > 0) process.exitCode = EXIT_FAILED;
    });
}
