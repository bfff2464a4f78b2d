import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isDatabaseUnavailable, isPooledConnectionLost } from '../../src/store/unavailable.js';
import { startPgRelay, type TcpRelay } from '../helpers/tcpRelay.js';

/**
 * /readyz's ping asks again only when a pooled connection died (isPooledConnectionLost); a connect
 * that timed out is the outage itself, and asking again would wait out the connect deadline up to
 * twelve times (a minute, with the pool's slots held) while the database is silent.
 */
describe('isPooledConnectionLost', () => {
  let relay: TcpRelay;
  let url: string;
  beforeAll(async () => {
    ({ relay, url } = await startPgRelay());
  });
  afterAll(async () => {
    relay.up();
    await relay.close();
  });

  async function errorOf(pool: pg.Pool): Promise<unknown> {
    try {
      await pool.query('select 1');
    } catch (err) {
      return err;
    } finally {
      await pool.end().catch(() => {});
    }
    throw new Error('the query succeeded');
  }

  it('is false for a connect that timed out (pg-pool: "Connection terminated due to connection timeout")', async () => {
    relay.blackhole();
    const err = await errorOf(new pg.Pool({ connectionString: url, connectionTimeoutMillis: 200 }));
    expect(String(err)).toMatch(/connection timeout/);
    expect(isDatabaseUnavailable(err)).toBe(true);
    expect(isPooledConnectionLost(err)).toBe(false);
  });

  it('is true for a pooled connection whose link was reset unnoticed', async () => {
    relay.up();
    const pool = new pg.Pool({ connectionString: url, max: 1 });
    pool.on('error', () => {});
    await pool.query('select 1');
    relay.stale();
    const err = await errorOf(pool);
    expect(isPooledConnectionLost(err)).toBe(true);
  });
});
