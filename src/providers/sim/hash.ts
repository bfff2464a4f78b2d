import { createSeededRng, type Rng } from '../../shared/rng.js';

/**
 * A 32-bit string hash (FNV-1a followed by a murmur3 finalizer for avalanche). The simulators derive
 * all their randomness from hashes of what they were asked, so the same question gives the same
 * answer in every run, on every machine, whatever order concurrent requests arrive in.
 */
export function hashString(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** A seeded Rng for a tuple of parts (joined with a separator that cannot occur in normal text). */
export function rngFor(...parts: Array<string | number>): Rng {
  return createSeededRng(hashString(parts.join('\u0000')));
}

export function hex32(n: number): string {
  return (n >>> 0).toString(16).padStart(8, '0');
}

/**
 * Counts how often each key was seen, so the k-th identical request gets its own (reproducible)
 * randomness: repeated calls differ, yet a run replays exactly. Bounded: past `cap` keys it starts
 * over, which only matters for runs far larger than any demo or test.
 */
export class CallCounter {
  private readonly counts = new Map<string, number>();
  constructor(private readonly cap = 200_000) {}

  next(key: string): number {
    if (this.counts.size >= this.cap && !this.counts.has(key)) this.counts.clear();
    const k = this.counts.get(key) ?? 0;
    this.counts.set(key, k + 1);
    return k;
  }
}
