/**
 * Seeded randomness. Decisions are drawn from a hash of (seed, decision key) rather than one
 * shared stream, so a given request (e.g. "the 2nd instantiate of 'AWS 17'") gets the same fault
 * for the same seed whatever order concurrent requests arrive in.
 */

/** mulberry32: tiny, fast, good enough for fault injection. Returns floats in [0, 1). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** FNV-1a 32-bit hash of a string. */
function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** A deterministic random source derived from one seed. */
export class SeededRandom {
  private readonly stream: () => number;
  constructor(readonly seed: number) {
    this.stream = mulberry32(seed ^ 0x9e3779b9);
  }
  /** Next value of the shared stream (ids, order-dependent choices). */
  next(): number {
    return this.stream();
  }
  /** A value in [0,1) fixed by the seed and `key` alone. */
  forKey(key: string): number {
    return mulberry32(fnv1a(`${this.seed}|${key}`))();
  }
  /** An integer in [min, max] from the shared stream, or fixed by `key` when given. */
  int(min: number, max: number, key?: string): number {
    const r = key === undefined ? this.next() : this.forKey(key);
    return min + Math.floor(r * (max - min + 1));
  }
  /** A random v4-shaped UUID from the shared stream. */
  uuid(): string {
    const hex = Array.from({ length: 32 }, () => Math.floor(this.next() * 16).toString(16));
    hex[12] = '4';
    hex[16] = ((parseInt(hex[16] ?? '0', 16) & 0x3) | 0x8).toString(16);
    const h = hex.join('');
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
  }
}
