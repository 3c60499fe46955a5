import { describe, expect, it } from 'vitest';
import type { Backend, DeviceBuffer } from '../src/index.js';
import { MemberSlabs } from '../src/runner/member-slabs.js';

/** A backend that only allocates, views and disposes, and remembers what it did. */
function fakeBackend(opts: { viewAlign?: number; maxBufferBytes?: number } = {}) {
  const live = new Set<DeviceBuffer>();
  let allocated = 0;
  const be = {
    ...opts,
    alloc(length: number) {
      const b = { length, dtype: 'float32' as const, id: allocated++ };
      live.add(b);
      return b;
    },
    view(parent: DeviceBuffer, offset: number, length: number) {
      return { length, dtype: 'float32' as const, parent, offset };
    },
    dispose(b: DeviceBuffer) {
      if (!('parent' in b)) live.delete(b);
    },
  } as unknown as Backend & { view: NonNullable<Backend['view']> };
  return { be, live, allocs: () => allocated };
}

type View = { parent: DeviceBuffer; offset: number; length: number };

describe('MemberSlabs', () => {
  it('gives each member a view of one parent per name at a fixed, aligned stride, and keeps it while its length stays', () => {
    const { be, live } = fakeBackend({ viewAlign: 4 });
    const slabs = new MemberSlabs(be, 'float32', 3);
    const v = [0, 1, 2].map((m) => slabs.get('unit0/hAll', m, 10) as unknown as View);
    expect(v.map((x) => x.offset)).toEqual([0, 12, 24]);
    expect(new Set(v.map((x) => x.parent)).size).toBe(1);
    expect(v[0].parent.length).toBe(36);
    expect(slabs.get('unit0/hAll', 1, 10)).toBe(v[1] as unknown as DeviceBuffer);
    // another name is another parent
    expect((slabs.get('unit0/p', 0, 10) as unknown as View).parent).not.toBe(v[0].parent);
    slabs.dispose();
    expect(live.size).toBe(0);
  });

  it('a longer buffer makes a new parent; the others keep theirs until the next step, then move, and the old parent goes', () => {
    const { be, live } = fakeBackend();
    const slabs = new MemberSlabs(be, 'float32', 2);
    const a0 = slabs.get('x', 0, 8) as unknown as View;
    const a1 = slabs.get('x', 1, 8) as unknown as View;
    slabs.nextStep();
    const b0 = slabs.get('x', 0, 8) as unknown as View;
    expect(b0).toBe(a0);
    // member 1 needs more this step: a new parent, while member 0 still holds (and may still read) its view
    const b1 = slabs.get('x', 1, 20) as unknown as View;
    expect(b1.parent).not.toBe(a1.parent);
    expect(live.has(a0.parent)).toBe(true);
    expect(slabs.get('x', 0, 8)).toBe(b0 as unknown as DeviceBuffer);
    slabs.nextStep();
    // a new step: member 0 moves to the new parent (stride 20) and the old one is freed
    const c0 = slabs.get('x', 0, 8) as unknown as View;
    expect([c0.parent, c0.offset]).toEqual([b1.parent, 0]);
    expect(b1.offset).toBe(20);
    expect(live.has(a0.parent)).toBe(false);
    expect(live.size).toBe(1);
    slabs.release('x', 0);
    slabs.release('x', 1);
    slabs.dispose();
    expect(live.size).toBe(0);
  });

  it('gives members buffers of their own where a shared parent would exceed the backend’s largest buffer', () => {
    // 3 members × 100 floats = 1200 bytes > 1000; 3 × 50 floats fit
    const { be, live } = fakeBackend({ maxBufferBytes: 1000 });
    const slabs = new MemberSlabs(be, 'float32', 3);
    const own = [0, 1, 2].map((m) => slabs.get('cache', m, 100));
    for (const b of own) expect('parent' in b).toBe(false);
    expect(new Set(own).size).toBe(3);
    expect(slabs.get('cache', 1, 100)).toBe(own[1]);
    // smaller again: shared, and the own buffer freed
    const shared = slabs.get('cache', 1, 50) as unknown as View;
    expect(shared.offset).toBe(50);
    expect(live.has(own[1])).toBe(false);
    slabs.release('cache', 0);
    expect(live.has(own[0])).toBe(false);
    slabs.dispose();
    expect(live.size).toBe(0);
  });
});
