import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { FakeUpstream } from '../fakes/fakeUpstream.js';
import { useFakeUpstreamServer } from '../helpers/fakeUpstreamServer.js';
import { type TestServer, api, seedJobBody } from '../helpers/server.js';
import { type HeldLock, holdWriteLock } from '../helpers/sqliteLock.js';
import { waitFor } from '../helpers/waitFor.js';

/**
 * A streamed call opens its upstream stream while its rollout is being stored. When the store fails
 * (a database outage: here another process holds SQLite's write lock, so writes answer 503 at once),
 * the client gets its 503, and the upstream stream nobody will read must be closed: left open, the
 * provider went on generating (and billing) the whole answer.
 */
const JOBS = '/api/policy-optimization/online/jobs';

describe('a proxied call whose rollout cannot be stored', () => {
  const path = join(mkdtempSync(join(tmpdir(), 'miprox-stream-insert-')), 'miprox.db');
  let fake: FakeUpstream;
  let t: TestServer;
  let lock: HeldLock | null = null;
  // 100 chunks 100 ms apart: a stream of about 10 s unless its reader closes it.
  useFakeUpstreamServer({ upstream: { reply: 'word '.repeat(200), chunks: 100, chunkDelayMs: 100 }, env: { DATABASE_URL: path } }, (s) => ({ fake, t } = s));
  afterAll(async () => {
    await lock?.release();
  });

  it('answers 503 and ends the upstream request it started, streamed or not', async () => {
    const job = (await api(t.url, 'POST', JOBS, { key: t.key, body: seedJobBody() })).body as { proxy_url: string };
    const call = (rid: string, stream: boolean) =>
      api(job.proxy_url, 'POST', `/${rid}/chat/completions`, { body: { model: 'x', stream, messages: [{ role: 'user', content: 'Tell me a story.' }] } });
    fake.setBehavior({ chunkDelayMs: 0, chunks: 3 });
    expect((await call('warm', false)).status).toBe(200);

    lock = await holdWriteLock(path);
    // The first write waits out the lock (5 s); after that, writes give up at once.
    expect((await call('waited', false)).status).toBe(503);
    fake.setBehavior({ reply: 'word '.repeat(200), chunks: 100, chunkDelayMs: 100 });
    const closedBefore = fake.stats.closedEarly;
    const started = Date.now();
    const res = await call('streamed', true);
    expect(res.status).toBe(503);
    // Closed by miprox long before the fake would have finished (about 10 s).
    await waitFor(async () => fake.stats.closedEarly > closedBefore, 6_000);
    expect(Date.now() - started).toBeLessThan(8_000);

    // The same for a JSON call the upstream takes 10 s to answer.
    fake.setBehavior({ delayMs: 10_000 });
    const jsonClosedBefore = fake.stats.closedEarly;
    const jsonStarted = Date.now();
    expect((await call('json', false)).status).toBe(503);
    await waitFor(async () => fake.stats.closedEarly > jsonClosedBefore, 6_000);
    expect(Date.now() - jsonStarted).toBeLessThan(8_000);
  });
});
