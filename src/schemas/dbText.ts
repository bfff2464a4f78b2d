import type { z } from 'zod';

/**
 * PostgreSQL text cannot hold U+0000 (SQLite can), so a NUL in a value stored or looked up as text
 * was a 500 on PostgreSQL only. It is refused wherever such a value enters, on both databases, so
 * both answer alike (issue 14, item 6). JSON columns are unaffected: JSON escapes it.
 */
export const NUL_MESSAGE = 'must not contain the NUL character (U+0000)';

export const hasNul = (s: string): boolean => s.includes('\u0000');

export function noNul<S extends z.ZodString>(schema: S): S {
  return schema.refine((s) => !hasNul(s), NUL_MESSAGE) as S;
}

/** The largest value of a PostgreSQL `integer` column (seeds, event sequence numbers). */
export const MAX_INT4 = 2 ** 31 - 1;
