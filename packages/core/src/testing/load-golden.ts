import { readFile } from 'node:fs/promises';
import { InputError } from '../backend/errors.js';
import { type GoldenFile, parseGolden } from './golden-schema.js';

/** Reads and validates an oracle file; every failure is a one-line InputError. */
export async function loadGolden(path: string): Promise<GoldenFile> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new InputError(`cannot read golden file '${path}': ${code ?? (err as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new InputError(`golden file '${path}' is not valid JSON: ${(err as Error).message}`);
  }
  return parseGolden(json);
}

/** The oracle file shipped with @bistable/core (a copy of the PyTorch reference's vectors). */
export function bundledGoldenPath(): string {
  return new URL('../../fixtures/golden.json', import.meta.url).pathname;
}
