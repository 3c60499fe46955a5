import { describe, expect, it } from 'vitest';
import type { DeviceBuffer } from '../src/index.js';
import { getBackend } from '../src/index.js';
import { Workspace } from '../src/runner/workspace.js';
import { forwarding } from './helpers.js';

const reference = await getBackend('reference');

describe('Workspace.ones', () => {
  it('keeps a replaced buffer of ones alive (queued GEMMs may read it) until the workspace is disposed', async () => {
    const disposed = new Set<DeviceBuffer>();
    const be = forwarding(reference, {
      dispose: (b: DeviceBuffer) => {
        disposed.add(b);
        reference.dispose(b);
      },
    });
    const ws = new Workspace(be, 'float64');
    const short = ws.ones(4);
    expect(ws.ones(3)).toBe(short);
    const long = ws.ones(10);
    expect(long).not.toBe(short);
    expect(long.length).toBe(10);
    // growing again at least doubles
    expect(ws.ones(11).length).toBe(20);
    expect(disposed.size).toBe(0);
    expect(Array.from(await be.read(short))).toEqual([1, 1, 1, 1]);
    expect(Array.from(await be.read(long))).toEqual(Array(10).fill(1));
    ws.dispose();
    expect(disposed.has(short) && disposed.has(long)).toBe(true);
    expect(disposed.size).toBe(3);
  });
});
