import type { z } from 'zod';
import { hasLoneSurrogate, hasNul, NUL_MESSAGE } from '../optimizer/core/text.js';

export { hasNul, NUL_MESSAGE };

/**
 * PostgreSQL text cannot hold U+0000 (SQLite can), so a NUL in a value stored or looked up as text
 * was a 500 on PostgreSQL only. It is refused wherever such a value enters, on both databases, so
 * both answer alike (issue 14, item 6). JSON columns are unaffected: JSON escapes it.
 */
export function noNul<S extends z.ZodString>(schema: S): S {
  return schema.refine((s) => !hasNul(s), NUL_MESSAGE) as S;
}

export const LONE_SURROGATE_MESSAGE =
  'must not contain a lone UTF-16 surrogate (half of a character such as an emoji, cut off): SQLite and PostgreSQL would store different text';

/**
 * A text miprox stores and later compares (module templates, instructions): no NUL, and no lone
 * surrogate, which the two databases replace differently, so the stored text would no longer equal
 * what was sent, and a call sending that text would not match it.
 */
export function storableText<S extends z.ZodString>(schema: S): S {
  return noNul(schema).refine((s) => !hasLoneSurrogate(s), LONE_SURROGATE_MESSAGE) as S;
}

/** The largest value of a PostgreSQL `integer` column (seeds, event sequence numbers). */
export const MAX_INT4 = 2 ** 31 - 1;
