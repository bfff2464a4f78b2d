import { afterAll, beforeAll, beforeEach } from 'vitest';
import { type FakeUpstream, startFakeUpstream } from '../fakes/fakeUpstream.js';
import { type TestDb, type TestServer, startTestServer } from './server.js';

export interface FakeUpstreamServer { fake: FakeUpstream; t: TestServer }

/**
 * The setup of the end-to-end tests that need an LLM upstream: a fake OpenAI upstream answering "ok"
 * and a real test server (SQLite or PostgreSQL) whose `openai` provider calls it. The engine's cache
 * TTL is 20 ms so candidates a test adds through the store are seen by the next call. Registers the
 * describe block's hooks (start once, forget the upstream's recorded requests before each test, close
 * both after) and hands the two to `ready`, so test bodies keep their `t` and `fake`:
 *
 *   let fake: FakeUpstream;
 *   let t: TestServer;
 *   useFakeUpstreamServer(db, (s) => ({ fake, t } = s));
 */
export function useFakeUpstreamServer(db: TestDb, ready: (s: FakeUpstreamServer) => void): void {
  let s: FakeUpstreamServer | null = null;
  beforeAll(async () => {
    const fake = await startFakeUpstream({ reply: 'ok' });
    const t = await startTestServer({ db, env: { OPENAI_API_KEY: 'sk-test', OPENAI_BASE_URL: fake.url }, start: { cacheTtlMs: 20 } });
    s = { fake, t };
    ready(s);
  });
  afterAll(async () => {
    await s?.t.close();
    await s?.fake.close();
  });
  beforeEach(() => {
    if (s) s.fake.requests.length = 0;
  });
}
