import { afterAll, beforeAll } from 'vitest';
import type { Clock } from '../../src/shared/clock.js';
import { type TestDb, type TestServer, startTestServer } from './server.js';

export const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * A test server for one describe block with RETENTION_DAYS=1, its retention pass every 50 ms, and a
 * clock the test moves (`setClockOffset(2 * DAY_MS)` makes every record older than the cut).
 */
export function useRetentionServer(db: TestDb): { readonly t: TestServer; clock: Clock; setClockOffset(ms: number): void } {
  let offsetMs = 0;
  let server: TestServer | undefined;
  const clock: Clock = { now: () => Date.now() + offsetMs };
  beforeAll(async () => {
    server = await startTestServer({ db, env: { RETENTION_DAYS: '1' }, start: { clock, retentionIntervalMs: 50 } });
  });
  afterAll(async () => server?.close());
  return {
    get t() {
      if (!server) throw new Error('the retention test server is not started yet (use it inside a test)');
      return server;
    },
    clock,
    setClockOffset(ms: number) {
      offsetMs = ms;
    },
  };
}
