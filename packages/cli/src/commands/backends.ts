import { BACKEND_CATALOG, CELL_NAMES, getBackend, getKernel, registeredBackends } from '@bistable/core';
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
        dtypes: [],
        levels: {},
        reason: `${pkg} ${why}; install it with 'pnpm add ${pkg}'`,
      });
      continue;
    }
    try {
      const be = await getBackend(name);
      const levels: Record<string, number> = {};
      for (const cell of CELL_NAMES)
        levels[cell] = getKernel(name, cell, 3) ? 3 : getKernel(name, cell, 2) ? 2 : 1;
      out.push({ ...base, available: true, dtypes: [...be.dtypes], levels });
    } catch (err) {
      out.push({ ...base, available: false, dtypes: [], levels: {}, reason: (err as Error).message });
    }
  }
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
      const auto = reports
        .filter((r) => r.available)
        .sort((a, b) => (b.priority ?? 0) - (a.priority ?? 0))[0];
      printTable(
        ['backend', 'status', 'dtypes', 'kernel levels (BRC nBRC GRU LSTM)', 'notes'],
        reports.map((r) => [
          r.name + (auto && r.name === auto.name ? ' (auto)' : ''),
          r.available ? 'available' : 'unavailable',
          r.dtypes.join(','),
          r.available ? CELL_NAMES.map((c) => r.levels[c]).join(' ') : '',
          r.available ? '' : (r.reason ?? ''),
        ]),
      );
    });
}
