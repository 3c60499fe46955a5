import { readFile } from 'node:fs/promises';
import { cpus, release, totalmem, type } from 'node:os';
import { join } from 'node:path';
import { writeFileAtomic } from '@bistable/core';
import { CliError } from '../exit-codes.js';

/**
 * Where a study's numbers came from: every invocation that worked on a results folder, so that a
 * figure drawn from it can state its date, machine, backend, command and wall time even when the
 * study was resumed across sessions or machines.
 */
export interface Invocation {
  /** The command line, as a user would type it (`bistable reproduce …`). */
  command: string;
  started: string;
  /** Null while the invocation runs, or when it was killed before it could say. */
  finished: string | null;
  seconds: number | null;
  machine: string;
  backend: string;
  workers: number;
  /** For a study run through a job queue: where (its workers name their own machines). */
  queue?: string;
  /** How the invocation ended: every run done, interrupted, or failed. */
  outcome: 'running' | 'finished' | 'interrupted' | 'failed';
}

export interface Provenance {
  format: 'bistable-provenance';
  version: 1;
  invocations: Invocation[];
}

export const PROVENANCE = 'provenance.json';

/** CPU model, cores, memory, OS and Node version: what a reader needs to weigh a wall time. */
export function describeMachine(): string {
  const cpu = cpus();
  const model = (cpu[0]?.model ?? 'unknown CPU').replace(/\s+/g, ' ').trim();
  const gib = Math.round(totalmem() / 2 ** 30);
  return `${model}, ${cpu.length} cores, ${gib} GiB, ${type()} ${release()}, Node ${process.version}`;
}

let argvOfThisProcess: string[] | null = null;

/** Set once by the CLI's entry point, so that studies can record the command that ran them. */
export function setCommandLine(argv: string[]): void {
  argvOfThisProcess = [...argv];
}

const quote = (a: string) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replaceAll("'", "'\\''")}'`);

/**
 * A Redis URL's password (`--queue redis://:secret@host`) as `***`: the command line goes into
 * provenance.json and every figure's subtitle.
 */
const hidePassword = (a: string) => a.replace(/(rediss?:\/\/[^:@/\s]*:)[^/\s]+@/g, '$1***@');

/**
 * The command line of this process as `bistable …`, shell-quoted where needed, led by the
 * BISTABLE_* environment settings that change how it runs (threads, tile, …).
 */
export function commandLine(): string {
  const env = Object.entries(process.env)
    .filter(([k, v]) => k.startsWith('BISTABLE_') && v !== undefined)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => `${k}=${quote(v ?? '')}`);
  return [...env, 'bistable', ...(argvOfThisProcess ?? []).map((a) => quote(hidePassword(a)))].join(' ');
}

export async function readProvenance(dir: string): Promise<Provenance | null> {
  let text: string;
  try {
    text = await readFile(join(dir, PROVENANCE), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  let p: Provenance;
  try {
    p = JSON.parse(text) as Provenance;
  } catch {
    throw new CliError(`'${join(dir, PROVENANCE)}' is not valid JSON`);
  }
  if (p?.format !== 'bistable-provenance' || !Array.isArray(p.invocations)) {
    throw new CliError(`'${join(dir, PROVENANCE)}' is not a bistable provenance file`);
  }
  return p;
}

/**
 * Appends this invocation to the folder's provenance and returns the function that records how
 * it ended (each write replaces the file atomically).
 */
export async function recordInvocation(
  dir: string,
  what: { backend: string; workers: number; queue?: string },
): Promise<(outcome: Exclude<Invocation['outcome'], 'running'>) => Promise<void>> {
  const p = (await readProvenance(dir)) ?? { format: 'bistable-provenance', version: 1, invocations: [] };
  const t0 = performance.now();
  const me: Invocation = {
    command: commandLine(),
    started: new Date().toISOString(),
    finished: null,
    seconds: null,
    machine: describeMachine(),
    backend: what.backend,
    workers: what.workers,
    ...(what.queue ? { queue: what.queue } : {}),
    outcome: 'running',
  };
  p.invocations.push(me);
  const save = () => writeFileAtomic(join(dir, PROVENANCE), `${JSON.stringify(p, null, 2)}\n`);
  await save();
  return async (outcome) => {
    me.finished = new Date().toISOString();
    me.seconds = (performance.now() - t0) / 1000;
    me.outcome = outcome;
    await save();
  };
}

/** A study's wall time: its invocations end to end (those killed before they could say count 0). */
export function studyWallSeconds(invocations: readonly Pick<Invocation, 'seconds'>[]): number {
  return invocations.reduce((a, i) => a + (i.seconds ?? 0), 0);
}

/** "1 h 23 min", "4 min 05 s", "12.3 s". */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '-';
  if (seconds < 60) return `${seconds.toFixed(1)} s`;
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  if (h > 0) return `${h} h ${String(m).padStart(2, '0')} min`;
  return `${m} min ${String(s % 60).padStart(2, '0')} s`;
}

/**
 * Lines for a figure: when and where, backend and wall time, then the command (wrapped). Wall time adds up
 * the invocations that said how long they took; any killed before they could are named.
 */
export function provenanceLines(p: Provenance | null): string[] {
  if (!p || p.invocations.length === 0)
    return ['provenance not recorded (folder written before bistable 0.2)'];
  const inv = p.invocations;
  const days = [...new Set(inv.map((i) => i.started.slice(0, 10)))];
  const dates = days.length === 1 ? days[0] : `${days[0]} to ${days.at(-1)}`;
  const machines = [...new Set(inv.map((i) => i.machine))];
  // one machine a line: a subtitle does not wrap, and a long one shrinks the whole figure
  const where =
    machines.length === 1
      ? wrap(`run ${dates} on ${machines[0]}`)
      : [`run ${dates} on ${machines.length} machines:`, ...machines.flatMap((m) => wrap(m))];
  const backends = [...new Set(inv.map((i) => i.backend))].join(', ');
  const wall = studyWallSeconds(inv);
  const untimed = inv.filter((i) => i.seconds === null).length;
  const over = inv.length === 1 ? '' : ` over ${inv.length} invocations`;
  const lost = untimed > 0 ? ` (${untimed} not ended, not counted)` : '';
  return [
    ...where,
    `backend ${backends} · wall time ${formatDuration(wall)}${over}${lost}`,
    ...wrap(inv[0].command),
  ];
}

/** Lines of at most `width` characters, broken at spaces (a figure's subtitle does not wrap). */
export function wrap(text: string, width = 110): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) lines.push(line);
  return lines;
}
