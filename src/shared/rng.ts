/**
 * Randomness as an injected dependency so the optimizer core stays deterministic under test.
 * `createSeededRng` is a small, fast, well-distributed PRNG (mulberry32) — good enough for sampling,
 * not for secrets (ids use node:crypto, see ids.ts).
 */
export interface Rng {
  /** Uniform in [0, 1). */
  next(): number;
}

export function createSeededRng(seed: number): Rng {
  let a = seed >>> 0;
  return {
    next() {
      a = (a + 0x6d2b79f5) >>> 0;
      let t = a;
      t = Math.imul(t ^ (t >>> 15), t | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    },
  };
}

export const mathRandomRng: Rng = { next: () => Math.random() };
