import { BACKEND_CATALOG, CELL_NAMES, getBackend, kernelLevels, registeredBackends } from '@bistable/core';
import type { Command } from 'commander';
import { discoverBackends } from '../discover.js';
import { printTable } from '../table.js';

export interface BackendReport {
  name: string;
  package: string;
  priority: number | null;
  available: boolean;
  dtypes: string[];
  /** Highest kernel level per cell where available. */
  levels: Record<string, number>;
  /** Why it is not available, and how to get it. */
  reason?: string;
  /** Where its GPU is emulated on the CPU: the device (auto then prefers native backends). */
  softwareDevice?: string;
  /** Whether `auto` picks it here (with no dtype asked for). */
  auto: boolean;
  requires: string;
}

/** Every known backend with its state here; initialises each registered one (lazily, once). */
export async function backendReports(): Promise<BackendReport[]> {
  const loads = await discoverBackends();
  const regs = new Map(registeredBackends().map((r) => [r.name, r]));
  const names = [...new Set([...BACKEND_CATALOG.map((e) => e.name), ...regs.keys()])];
  const out: BackendReport[] = [];
  for (const name of names) {
    const entry = BACKEND_CATALOG.find((e) => e.name === name);
    const pkg = entry?.packageName ?? '(third party)';
    const reg = regs.get(name);
    const base = { name, package: pkg, requires: entry?.requires ?? '', priority: reg?.priority ?? null };
    if (!reg) {
      const load = loads.find((l) => l.packageName === pkg);
      const why = load?.reason ?? 'not registered';
      out.push({
        ...base,
        available: false,
        auto: false,
        dtypes: [],
        levels: {},
        reason: `${pkg} ${why}; install it with 'pnpm add ${pkg}'`,
      });
      continue;
    }
    try {
      const be = await getBackend(name);
      const levels: Record<string, number> = {};
      for (const cell of CELL_NAMES) levels[cell] = Math.max(...kernelLevels(be, cell));
      const soft = be.softwareDevice ? { softwareDevice: be.softwareDevice } : {};
      out.push({ ...base, available: true, auto: false, dtypes: [...be.dtypes], levels, ...soft });
    } catch (err) {
      out.push({
        ...base,
        available: false,
        auto: false,
        dtypes: [],
        levels: {},
        reason: (err as Error).message,
      });
    }
  }
  // what getBackend('auto') takes: priorities, then native devices before emulated ones
  const auto = await getBackend('auto').catch(() => null);
  for (const r of out) r.auto = auto !== null && r.name === auto.name;
  return out;
}

export function registerBackendsCommand(program: Command): void {
  program
    .command('backends')
    .description('list every known backend, whether it runs here, and if not, why and how to get it')
    .option('--json', 'print JSON')
    .action(async (opts: { json?: boolean }) => {
      const reports = await backendReports();
      if (opts.json) {
        console.log(JSON.stringify(reports, null, 2));
        return;
      }
      printTable(
        ['backend', 'status', 'dtypes', 'kernel levels (BRC nBRC GRU LSTM)', 'notes'],
        reports.map((r) => [
          r.name + (r.auto ? ' (auto)' : ''),
          r.available ? 'available' : 'unavailable',
          r.dtypes.join(','),
          r.available ? CELL_NAMES.map((c) => r.levels[c]).join(' ') : '',
          r.available
            ? r.softwareDevice
              ? `emulated on the CPU (${r.softwareDevice}): auto prefers native backends`
              : ''
            : (r.reason ?? ''),
        ]),
      );
    });
}
