import type { Rng } from '../../shared/rng.js';

/** Random variates from an injected Rng, so every draw is reproducible from a seed. */

/** Uniform in (0, 1]: safe to take the log of. */
function openUniform(rng: Rng): number {
  return 1 - rng.next();
}

/** Standard normal by the Marsaglia polar method (no trigonometry, no cached second value: stateless). */
export function sampleStandardNormal(rng: Rng): number {
  for (;;) {
    const u = 2 * rng.next() - 1;
    const v = 2 * rng.next() - 1;
    const s = u * u + v * v;
    if (s > 0 && s < 1) return u * Math.sqrt((-2 * Math.log(s)) / s);
  }
}

export function sampleNormal(mean: number, sd: number, rng: Rng): number {
  return mean + sd * sampleStandardNormal(rng);
}

/**
 * Gamma(shape, 1) by Marsaglia and Tsang (2000); shapes below 1 use the boost
 * Gamma(a) = Gamma(a + 1) * U^(1/a).
 */
export function sampleGamma(shape: number, rng: Rng): number {
  if (!(shape > 0)) throw new RangeError(`gamma shape must be > 0, got ${shape}`);
  if (shape < 1) return sampleGamma(shape + 1, rng) * Math.pow(openUniform(rng), 1 / shape);
  const d = shape - 1 / 3;
  const c = 1 / Math.sqrt(9 * d);
  for (;;) {
    let x: number;
    let v: number;
    do {
      x = sampleStandardNormal(rng);
      v = 1 + c * x;
    } while (v <= 0);
    v = v * v * v;
    const u = openUniform(rng);
    if (u < 1 - 0.0331 * x * x * x * x) return d * v;
    if (Math.log(u) < 0.5 * x * x + d * (1 - v + Math.log(v))) return d * v;
  }
}

export function sampleBeta(alpha: number, beta: number, rng: Rng): number {
  const x = sampleGamma(alpha, rng);
  const y = sampleGamma(beta, rng);
  return x / (x + y);
}
