/**
 * Seeds derived by hashing, so that every run, dataset, sample and epoch has its own stream that
 * depends only on the names that identify it, never on the order in which things run. This is
 * what makes a resumed or parallel run identical to a sequential one.
 */

/** FNV-1a over the UTF-16 code units, then a murmur3 finaliser: a well-mixed 32-bit value. */
function hash32(text: string, h = 0x811c9dc5): number {
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b) >>> 0;
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35) >>> 0;
  return (h ^ (h >>> 16)) >>> 0;
}

/** A 52-bit seed (exactly representable) from a base seed and the parts that name a stream. */
export function deriveSeed(base: number, ...parts: (string | number)[]): number {
  const text = [String(base), ...parts.map(String)].join('\u001f');
  const hi = hash32(text, 0x811c9dc5) & 0xfffff;
  const lo = hash32(text, 0x01000193);
  return hi * 4294967296 + lo;
}
