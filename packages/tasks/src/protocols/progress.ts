import { InputError } from '@bistable/core';

/** JSON with sorted keys and no undefined members: equal configs give equal text. */
export function canonicalJson(v: unknown): string {
  return JSON.stringify(v, (_k, val) =>
    val && typeof val === 'object' && !Array.isArray(val)
      ? Object.fromEntries(
          Object.keys(val)
            .sort()
            .filter((k) => val[k] !== undefined)
            .map((k) => [k, val[k]]),
        )
      : val,
  );
}

/**
 * The keys whose values differ between two settings objects, compared as canonical JSON (so key
 * order and undefined members do not count), in the order the keys first appear in `had`, then
 * `want`.
 */
export function changedSettings(had: object, want: object): string[] {
  const a = had as Record<string, unknown>;
  const b = want as Record<string, unknown>;
  return [...new Set([...Object.keys(a), ...Object.keys(b)])].filter(
    (k) => canonicalJson(a[k]) !== canonicalJson(b[k]),
  );
}

/**
 * Settings that change how a run executes, not what it computes: a run may resume with others
 * (a smaller micro-batch after running out of device memory). Results then match an uninterrupted
 * run up to rounding rather than bit for bit.
 */
const EXECUTION_ONLY = new Set(['microBatch']);

/**
 * The progress saved with a checkpoint, checked against the run that loads it: resuming with other
 * settings would silently mix two experiments, so any difference is an error that names it. The
 * result carries the resuming run's config.
 */
export function restoreProgress<R extends { task: string; config: object }>(
  saved: Record<string, unknown>,
  config: object,
  task: string,
): R {
  if (saved.task !== task) {
    throw new InputError(`the checkpoint belongs to a ${String(saved.task)} run, not ${task}`);
  }
  const had = (saved.config ?? {}) as Record<string, unknown>;
  const want = config as Record<string, unknown>;
  const diffs = changedSettings(had, want)
    .filter((k) => !EXECUTION_ONLY.has(k))
    .sort()
    .map((k) => `${k} was ${canonicalJson(had[k]) ?? 'unset'}, now ${canonicalJson(want[k]) ?? 'unset'}`);
  if (diffs.length > 0) {
    throw new InputError(
      `cannot resume: the checkpoint was saved by a run with other settings (${diffs.join('; ')})`,
    );
  }
  return { ...saved, config } as unknown as R;
}
