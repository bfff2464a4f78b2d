import { afterAll, beforeAll } from 'vitest';
import type { StartOptions } from '../../src/main.js';
import { type FakeUpstream, type FakeUpstreamOptions, startFakeUpstream } from '../fakes/fakeUpstream.js';
import { startTestServer, type TestDb, type TestServer } from './server.js';

export interface ProposerServer {
  t: TestServer;
  /** The policy's upstream: the server's `openai` provider (OPENAI_BASE_URL). */
  policy: FakeUpstream;
  /** The proposer's upstream: what a job names as its `openai_compatible` proposer's inference_url. */
  proposer: FakeUpstream;
}

export interface ProposerServerOptions {
  /** SQLite unless said. */
  db?: TestDb;
  /** How the policy's fake upstream answers. */
  policy: FakeUpstreamOptions;
  /** How the proposer's fake upstream answers. */
  proposer: FakeUpstreamOptions;
  /** More server environment (a proposer timeout, a shutdown grace period ...). */
  env?: Record<string, string>;
  start?: StartOptions;
}

/**
 * A miprox test server whose policy and proposer are two fake OpenAI upstreams on loopback: the
 * policy is the `openai` provider, and the proposer's port is allowed as an inference URL
 * (MIPROX_ALLOWED_INFERENCE_HOSTS; loopback is refused otherwise), so a job reaches it with
 * `seedJobBody({ proposerProvider: 'openai_compatible', inferenceUrl: proposer.url })`.
 * `close` closes the server, then the two upstreams.
 */
export async function startProposerServer(opts: ProposerServerOptions): Promise<ProposerServer & { close(): Promise<void> }> {
  const s: Partial<ProposerServer> = {};
  try {
    await startInto(s, opts);
  } catch (err) {
    await closeAll(s);
    throw err;
  }
  const { t, policy, proposer } = s as ProposerServer;
  return { t, policy, proposer, close: () => closeAll(s) };
}

/**
 * The same for a describe block: started before its tests, closed after them. The returned object
 * is filled in when the tests run; `ready` hands the three over then, so test bodies keep their own
 * `t`, `policy` and `proposer`:
 *
 *   let policy: FakeUpstream;
 *   let proposer: FakeUpstream;
 *   let t: TestServer;
 *   useProposerServer({ policy: { reply: 'ok' }, proposer: { hang: true } }, (s) => ({ policy, proposer, t } = s));
 */
export function useProposerServer(opts: ProposerServerOptions, ready?: (s: ProposerServer) => void): ProposerServer {
  const s: Partial<ProposerServer> = {};
  beforeAll(async () => {
    await startInto(s, opts);
    ready?.(s as ProposerServer);
  });
  afterAll(() => closeAll(s));
  return s as ProposerServer;
}

/**
 * The proposer of the usage and spend tests: it answers the dataset-summary call with a short summary
 * and each proposal with the one instruction `instruction()` returns, reporting 300 + 40 tokens a
 * call (the policy's fake reports its default 12 + 7), so usage tells the two sides apart.
 */
export function oneInstructionProposer(instruction: () => string): FakeUpstreamOptions {
  return {
    usage: { prompt_tokens: 300, completion_tokens: 40 },
    reply: (req) => (/describe these inputs/.test(JSON.stringify(req.body)) ? 'Short questions.' : JSON.stringify({ instructions: [instruction()] })),
  };
}

/** Starts the three into `s` one by one, so whatever started is there to close if a later one fails. */
async function startInto(s: Partial<ProposerServer>, opts: ProposerServerOptions): Promise<void> {
  const policy = (s.policy = await startFakeUpstream(opts.policy));
  const proposer = (s.proposer = await startFakeUpstream(opts.proposer));
  s.t = await startTestServer({
    db: opts.db ?? 'sqlite',
    env: { OPENAI_API_KEY: 'sk-test', OPENAI_BASE_URL: policy.url, MIPROX_ALLOWED_INFERENCE_HOSTS: `127.0.0.1:${proposer.port}`, ...opts.env },
    ...(opts.start ? { start: opts.start } : {}),
  });
}

async function closeAll(s: Partial<ProposerServer>): Promise<void> {
  await s.t?.close();
  await s.policy?.close();
  await s.proposer?.close();
}
