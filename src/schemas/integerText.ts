import { z } from 'zod';

/**
 * A non-negative integer written as text: a query parameter (`limit`, `since_seq`, the seed-evals
 * `seed` filter), the proxy's `seed` (query or `x-mipro-seed`), an integer environment variable
 * (config.ts) or CLI flag (`--limit`, `--interval`, `--port`: cli/clientOptions.ts). Decimal digits only, at most ten
 * (the largest any of them takes, 2147483647, has ten). `Number()` and zod's coercion read "" and
 * spaces as 0, "0x10" as 16, "1e1" as 10 and "1.0" as 1: a client's slip became another request
 * (`since_seq=` listed every event from the start) instead of a 422.
 */
export const INTEGER_TEXT = /^[0-9]{1,10}$/;

/** Longest received value quoted back in a message (a query value may be kilobytes). */
const QUOTED = 40;

/** The integer `raw` holds when it is INTEGER_TEXT within [min, max], else undefined. */
export function readIntegerText(raw: unknown, min: number, max: number): number | undefined {
  if (typeof raw !== 'string' || !INTEGER_TEXT.test(raw)) return undefined;
  const n = Number(raw);
  return n >= min && n <= max ? n : undefined;
}

/** What a value refused by readIntegerText should have been, quoting what came (a list: it was given twice). */
export function integerTextMessage(min: number, max: number, raw: unknown): string {
  const got = typeof raw === 'string' && raw.length > QUOTED ? `${JSON.stringify(raw.slice(0, QUOTED))}...` : JSON.stringify(raw);
  return `must be an integer between ${min} and ${max} in decimal digits, got ${got}`;
}

/**
 * A query parameter holding such an integer. Add `.optional()` or `.default(n)` for an absent one:
 * present, even empty, it must be the integer.
 */
export function integerQuery(min: number, max: number) {
  return z.unknown().transform((raw, ctx): number => {
    const n = readIntegerText(raw, min, max);
    if (n === undefined) {
      ctx.addIssue({ code: 'custom', message: integerTextMessage(min, max, raw) });
      return z.NEVER;
    }
    return n;
  });
}
