import { randomBytes } from 'node:crypto';

/** The machine's PostgreSQL (see README); each test file gets its own schema so runs never collide. */
export const PG_URL = process.env.MIPROX_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

export function uniqueSchema(prefix = 't'): string {
  return `${prefix}_${randomBytes(6).toString('hex')}`;
}
