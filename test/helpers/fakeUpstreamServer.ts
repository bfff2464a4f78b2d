import { afterAll, beforeAll, beforeEach } from 'vitest';
import type { StartOptions } from '../../src/main.js';
import { type FakeUpstream, type FakeUpstreamOptions, startFakeUpstream } from '../fakes/fakeUpstream.js';
import { type TestDb, type TestServer, startTestServer } from './server.js';

export interface FakeUpstreamServer { fake: FakeUpstream; t: TestServer }

export interface FakeUpstreamServerOptions {
  /** SQLite unless said. */
  db?: TestDb;
  /** How the fake OpenAI upstream answers. */
  upstream: FakeUpstreamOptions;
  /** More server environment (an upstream timeout, a retry count, DATABASE_URL ...). */
  env?: Record<string, string>;
  start?: StartOptions;
  /** Empty the fake's recorded requests before each test, so each test sees only its own. */
  forgetRequestsBeforeEach?: boolean;
}

/**
 * The setup of the end-to-end tests that need an LLM upstream: a fake OpenAI upstream and a real
 * test server (SQLite or PostgreSQL) whose `openai` provider calls it. `close` closes the server,
 * then the fake.
 */
export async function startFakeUpstreamServer(opts: FakeUpstreamServerOptions): Promise<FakeUpstreamServer & { close(): Promise<void> }> {
  const s: Partial<FakeUpstreamServer> = {};
  try {
    await startInto(s, opts);
  } catch (err) {
    await closeAll(s);
    throw err;
  }
  const { fake, t } = s as FakeUpstreamServer;
  return { fake, t, close: () => closeAll(s) };
}

/**
 * The same for a describe block: registers its hooks (start once, close both after) and hands the
 * two to `ready`, so test bodies keep their `t` and `fake`. End-to-end tests that add candidates
 * through the store pass `start: { cacheTtlMs: 20 }` (the next call sees them):
 *
 *   let fake: FakeUpstream;
 *   let t: TestServer;
 *   useFakeUpstreamServer({ db, upstream: { reply: 'ok' } }, (s) => ({ fake, t } = s));
 */
export function useFakeUpstreamServer(opts: FakeUpstreamServerOptions, ready: (s: FakeUpstreamServer) => void): void {
  const s: Partial<FakeUpstreamServer> = {};
  beforeAll(async () => {
    await startInto(s, opts);
    ready(s as FakeUpstreamServer);
  });
  afterAll(() => closeAll(s));
  if (opts.forgetRequestsBeforeEach) {
    beforeEach(() => {
      if (s.fake) s.fake.requests.length = 0;
    });
  }
}

/** Starts the two into `s` one by one, so whatever started is there to close if the other fails. */
async function startInto(s: Partial<FakeUpstreamServer>, opts: FakeUpstreamServerOptions): Promise<void> {
  const fake = (s.fake = await startFakeUpstream(opts.upstream));
  s.t = await startTestServer({
    db: opts.db ?? 'sqlite',
    env: { OPENAI_API_KEY: 'sk-test', OPENAI_BASE_URL: fake.url, ...opts.env },
    ...(opts.start ? { start: opts.start } : {}),
  });
}

async function closeAll(s: Partial<FakeUpstreamServer>): Promise<void> {
  await s.t?.close();
  await s.fake?.close();
}
