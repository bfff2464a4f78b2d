import { createHash } from 'node:crypto';
import { type Expression, type SqlBool, sql } from 'kysely';
import { ValidationError } from '../shared/errors.js';
import type { Page } from './types.js';

/**
 * Keyset cursors, opaque to clients (base64url JSON `{for, after}`). `after` holds the sort-key values
 * of the last item served, so rows inserted or moved elsewhere never shift a page boundary (an offset
 * would skip or repeat rows). `for` is a digest of the listing the cursor was issued for (list, scope,
 * sort, filters): replayed against another listing, the keys would mean something else, so it is refused.
 */

/** `int` columns are 32-bit on PostgreSQL: a larger value in a forged cursor must be a 422, not a driver error. */
export interface KeyColumn<C extends string = string> { col: C; dir: 'asc' | 'desc'; kind: 'text' | 'number' | 'int' }

/** A digest keeps cursors short whatever the filters (the API caps a cursor at 500 characters). */
export function listingId(parts: readonly unknown[]): string {
  return createHash('sha256').update(JSON.stringify(parts)).digest('base64url').slice(0, 16);
}

const invalid = (message: string) => new ValidationError('invalid cursor', [{ path: 'cursor', message }]);
const INT32 = 2 ** 31;

function fits(v: unknown, kind: KeyColumn['kind']): boolean {
  if (kind === 'text') return typeof v === 'string';
  if (kind === 'int') return Number.isInteger(v) && Math.abs(v as number) < INT32;
  return typeof v === 'number' && Number.isFinite(v);
}

/** The keyset values to resume after, or null without a cursor. */
export function decodeCursor(cursor: string | null | undefined, listing: string, keys: readonly KeyColumn[]): unknown[] | null {
  if (!cursor) return null;
  let v: unknown;
  try {
    v = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    v = undefined;
  }
  const c = v as { for?: unknown; after?: unknown } | null | undefined;
  if (typeof c !== 'object' || c === null || typeof c.for !== 'string' || !Array.isArray(c.after)) {
    throw invalid('is not a cursor this server issued');
  }
  if (c.for !== listing) {
    throw invalid('belongs to another listing (a different sort, filter or system); start again without a cursor');
  }
  const after: unknown[] = c.after;
  if (after.length !== keys.length || !keys.every((k, i) => fits(after[i], k.kind))) throw invalid('is not a cursor this server issued');
  return after;
}

/** Rows strictly after `values` in `keys` order; spelled out because a row comparison cannot mix directions. */
export function afterKeyset(keys: readonly KeyColumn[], values: readonly unknown[]): Expression<SqlBool> {
  const alternatives = keys.map((k, i) => {
    const ties = keys.slice(0, i).map((p, j) => sql`${sql.ref(p.col)} = ${values[j]}`);
    const beyond = sql`${sql.ref(k.col)} ${sql.raw(k.dir === 'asc' ? '>' : '<')} ${values[i]}`;
    return sql`(${sql.join([...ties, beyond], sql` and `)})`;
  });
  return sql<SqlBool>`(${sql.join(alternatives, sql` or `)})`;
}

/** Cuts `limit + 1` rows into a page; the extra row only says whether another page exists. */
export function toPage<C extends string, R extends Record<C, unknown>, T>(
  rows: readonly R[], limit: number, map: (r: R) => T, listing: string, keys: readonly KeyColumn<C>[],
): Page<T> {
  const last = rows.length > limit ? rows[limit - 1] : undefined;
  const nextCursor = last ? Buffer.from(JSON.stringify({ for: listing, after: keys.map((k) => last[k.col]) })).toString('base64url') : null;
  return { items: rows.slice(0, limit).map(map), nextCursor };
}
