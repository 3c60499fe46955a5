import { InputError } from '../backend/errors.js';
import type { HostArray } from '../backend/types.js';

/**
 * The safetensors container: an 8-byte little-endian u64 header length N, N bytes of UTF-8 JSON,
 * then the raw little-endian tensor bytes. Only the two float dtypes core computes in are
 * supported. Errors here carry no file name; the file layer adds it.
 */
export type SafeDType = 'F32' | 'F64';

export interface SafeTensor {
  dtype: SafeDType;
  shape: number[];
  data: HostArray;
}

export interface TensorEntry {
  dtype: SafeDType;
  shape: number[];
  data_offsets: [number, number];
}

export const itemSize = (dtype: SafeDType): number => (dtype === 'F64' ? 8 : 4);
const numel = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

/** Lays tensors out back to back (in the given order) and returns their header entries. */
export function packTensors(tensors: [string, SafeTensor][]): {
  entries: Record<string, TensorEntry>;
  data: Uint8Array;
} {
  let total = 0;
  for (const [name, t] of tensors) {
    if (numel(t.shape) !== t.data.length) {
      throw new InputError(`tensor '${name}' has ${t.data.length} values but shape [${t.shape.join(', ')}]`);
    }
    total += t.data.length * itemSize(t.dtype);
  }
  const data = new Uint8Array(total);
  const view = new DataView(data.buffer);
  const entries: Record<string, TensorEntry> = {};
  let at = 0;
  for (const [name, t] of tensors) {
    const begin = at;
    if (t.dtype === 'F64') {
      for (let i = 0; i < t.data.length; i++, at += 8) view.setFloat64(at, t.data[i], true);
    } else {
      for (let i = 0; i < t.data.length; i++, at += 4) view.setFloat32(at, t.data[i], true);
    }
    entries[name] = { dtype: t.dtype, shape: [...t.shape], data_offsets: [begin, at] };
  }
  return { entries, data };
}

/** Header length prefix + JSON (space-padded so the data starts 8-byte aligned) + data. */
export function assemble(header: Record<string, unknown>, data: Uint8Array): Uint8Array {
  let json = JSON.stringify(header);
  let head = new TextEncoder().encode(json);
  const pad = (8 - (head.length % 8)) % 8;
  if (pad > 0) {
    json += ' '.repeat(pad);
    head = new TextEncoder().encode(json);
  }
  const out = new Uint8Array(8 + head.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(head.length), true);
  out.set(head, 8);
  out.set(data, 8 + head.length);
  return out;
}

/** Splits a file into its parsed JSON header and its data section, or says why it is not one. */
export function splitContainer(bytes: Uint8Array): { header: Record<string, unknown>; data: Uint8Array } {
  if (bytes.length < 8) {
    throw new InputError(`not a bistable checkpoint: ${bytes.length} bytes is too short to hold a header`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = view.getBigUint64(0, true);
  const after = bytes.length - 8;
  if (n > BigInt(after)) {
    throw new InputError(
      `not a bistable checkpoint, or truncated inside its header: the header length field says ${n} bytes but only ${after} follow`,
    );
  }
  const headLen = Number(n);
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + headLen)));
  } catch {
    throw new InputError('not a bistable checkpoint: its header is not valid UTF-8 JSON');
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) {
    throw new InputError('not a bistable checkpoint: its header is not a JSON object');
  }
  return { header: header as Record<string, unknown>, data: bytes.subarray(8 + headLen) };
}

const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

/** Checks one header entry's structure (not yet against the data section). */
export function parseEntry(name: string, raw: unknown): TensorEntry {
  const bad = (what: string) => new InputError(`corrupt checkpoint header: tensor '${name}' ${what}`);
  if (typeof raw !== 'object' || raw === null) throw bad('is not an object');
  const e = raw as Record<string, unknown>;
  if (e.dtype !== 'F32' && e.dtype !== 'F64') {
    throw new InputError(
      `tensor '${name}' has dtype ${JSON.stringify(e.dtype)}; bistable checkpoints hold F32 or F64`,
    );
  }
  if (!Array.isArray(e.shape) || !e.shape.every(isCount)) throw bad('has no valid shape');
  const off = e.data_offsets;
  if (!Array.isArray(off) || off.length !== 2 || !isCount(off[0]) || !isCount(off[1]) || off[1] < off[0]) {
    throw bad('has no valid data_offsets');
  }
  const shape = e.shape as number[];
  const entry: TensorEntry = { dtype: e.dtype, shape, data_offsets: [off[0], off[1]] };
  const want = numel(shape) * itemSize(entry.dtype);
  if (off[1] - off[0] !== want) {
    throw bad(
      `declares shape [${shape.join(', ')}] of ${entry.dtype} (${want} bytes) but spans ${off[1] - off[0]} bytes`,
    );
  }
  return entry;
}

/** The data length the entries declare: the end of the last tensor. */
export function declaredLength(entries: TensorEntry[]): number {
  return entries.reduce((m, e) => Math.max(m, e.data_offsets[1]), 0);
}

/** safetensors requires the tensors to tile the data section: no gap, no overlap. */
export function checkTiling(entries: [string, TensorEntry][]): void {
  const sorted = [...entries].sort((a, b) => a[1].data_offsets[0] - b[1].data_offsets[0]);
  let at = 0;
  for (const [name, e] of sorted) {
    if (e.data_offsets[0] !== at) {
      throw new InputError(
        `corrupt checkpoint header: tensor '${name}' starts at byte ${e.data_offsets[0]}, expected ${at}`,
      );
    }
    at = e.data_offsets[1];
  }
}

/** Reads one tensor's values (little-endian) from the data section. */
export function readTensor(entry: TensorEntry, data: Uint8Array): SafeTensor {
  const [begin, end] = entry.data_offsets;
  const view = new DataView(data.buffer, data.byteOffset + begin, end - begin);
  const n = (end - begin) / itemSize(entry.dtype);
  let out: HostArray;
  if (entry.dtype === 'F64') {
    out = new Float64Array(n);
    for (let i = 0; i < n; i++) out[i] = view.getFloat64(8 * i, true);
  } else {
    out = new Float32Array(n);
    for (let i = 0; i < n; i++) out[i] = view.getFloat32(4 * i, true);
  }
  return { dtype: entry.dtype, shape: [...entry.shape], data: out };
}
