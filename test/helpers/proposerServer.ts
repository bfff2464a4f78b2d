import { afterAll, beforeAll } from 'vitest';
import { type FakeUpstream, startFakeUpstream } from '../fakes/fakeUpstream.js';
import { startTestServer, type TestDb, type TestServer } from './server.js';

export interface ProposerServer {
  t: TestServer;
  /** The policy's upstream: answers 'label' with the fake's default usage (12 + 7 tokens). */
  policy: FakeUpstream;
  /** The proposer's upstream: 300 + 40 tokens per call, so usage tells the two sides apart. */
  proposer: FakeUpstream;
}

/**
 * A miprox test server for the suite (opened before it, closed after) whose policy and proposer are
 * two fake OpenAI upstreams: the proposer answers the dataset-summary call with a short summary and
 * each proposal with the one instruction `instruction()` returns.
 */
export function useProposerServer(db: TestDb, instruction: () => string): ProposerServer {
  const s = {} as ProposerServer;
  beforeAll(async () => {
    s.policy = await startFakeUpstream({ reply: 'label' });
    s.proposer = await startFakeUpstream({
      usage: { prompt_tokens: 300, completion_tokens: 40 },
      reply: (req) => (/describe these inputs/.test(JSON.stringify(req.body)) ? 'Short questions.' : JSON.stringify({ instructions: [instruction()] })),
    });
    s.t = await startTestServer({
      db,
      env: { OPENAI_API_KEY: 'sk-test', OPENAI_BASE_URL: s.policy.url, MIPROX_ALLOWED_INFERENCE_HOSTS: `127.0.0.1:${s.proposer.port}` },
      start: { cacheTtlMs: 20 },
    });
  });
  afterAll(async () => {
    await s.t?.close();
    await s.policy?.close();
    await s.proposer?.close();
  });
  return s;
}
