import { randomBytes } from 'node:crypto';
import pg from 'pg';
import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { systemClock } from '../../src/shared/clock.js';
import { dropPostgresSchema, openPostgresStore } from '../../src/store/postgres/postgresStore.js';
import type { Store } from '../../src/store/types.js';
import { PG_URL, uniqueSchema } from '../helpers/postgres.js';
import { waitFor } from '../helpers/waitFor.js';

/**
 * A PostgreSQL restart (seen in a cluster chaos run: `pg_ctlcluster ... restart` under load) ends
 * every idle pooled connection. Each was logged twice at error level, once by the client's listener
 * and once by the pool's, the second with the whole pg client pg-pool attaches to the error (`err.client`):
 * about 17 KB per line of driver internals (every prepared statement's SQL, the backend's cancel key,
 * the socket's state), so one restart wrote N x 2 lines per instance, half of them that dump.
 */
describe('an idle pooled connection ended by the database', () => {
  const schema = uniqueSchema('connlost');
  const appName = `miprox_connlost_${randomBytes(4).toString('hex')}`;
  let store: Store | undefined;
  afterAll(async () => {
    await store?.close();
    await dropPostgresSchema(PG_URL, schema);
  });

  it('is reported once per connection, without the pg client in the logged error', async () => {
    const reported: Error[] = [];
    const url = new URL(PG_URL);
    url.searchParams.set('application_name', appName);
    store = await openPostgresStore(url.toString(), schema, systemClock, { onConnectionError: (err) => reported.push(err) });
    // Several connections in the pool, all idle afterwards.
    await Promise.all(Array.from({ length: 4 }, () => store!.ping()));
    const admin = new pg.Client({ connectionString: PG_URL });
    await admin.connect();
    let ended = 0;
    try {
      const res = await admin.query('select pg_terminate_backend(pid) as ok from pg_stat_activity where application_name = $1', [appName]);
      ended = res.rows.length;
    } finally {
      await admin.end();
    }
    expect(ended).toBeGreaterThan(1);
    await waitFor(async () => reported.length >= ended, 5_000);
    await new Promise((r) => setTimeout(r, 200)); // a second report of the same error would come now
    expect(reported.length).toBe(ended);
    expect(new Set(reported).size).toBe(ended);
    const lines: string[] = [];
    const log = pino({ level: 'error' }, { write: (l: string) => void lines.push(l) });
    for (const err of reported) log.error({ err }, 'database connection lost');
    for (const line of lines) {
      expect(JSON.parse(line).err.client).toBeUndefined();
      expect(line.length).toBeLessThan(3_000);
    }
    // The store serves again on fresh connections.
    await store.ping();
  });
});
