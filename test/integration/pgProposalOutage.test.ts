import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DATABASE_LOST_ERROR } from '../../src/optimizer/runner/proposalRunner.js';
import { api, seedJobBody, startTestServer, type TestServer } from '../helpers/server.js';
import { startPgRelay, type TcpRelay } from '../helpers/tcpRelay.js';
import { waitFor } from '../helpers/waitFor.js';

/**
 * PostgreSQL goes away while a proposal waits on the proposer. The proposal must end `failed`
 * saying so once the database is back (not stay `running` until its lease runs out, minutes later,
 * blamed on a dead instance), and the job must go on proposing.
 */
const SESSIONS = '/api/v1/online/sessions';

/** An OpenAI-compatible proposer whose proposal answers wait until the test lets them go. */
async function startHeldProposer() {
  const held: ServerResponse[] = [];
  let holding = true;
  const answer = (res: ServerResponse, text: string) => {
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({
      id: 'cmpl', object: 'chat.completion', created: 1, model: 'gpt-4o-mini',
      choices: [{ index: 0, message: { role: 'assistant', content: text }, finish_reason: 'stop' }],
      usage: { prompt_tokens: 10, completion_tokens: 5, total_tokens: 15 },
    }));
  };
  const proposal = () => JSON.stringify({ instructions: [`Classify the query precisely (${Math.random().toString(36).slice(2, 8)}).`] });
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString())).on('end', () => {
      if (/describe these inputs/.test(body)) answer(res, 'Short banking questions.');
      else if (holding) held.push(res);
      else answer(res, proposal());
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`,
    held: () => held.length,
    releaseAll: () => {
      holding = false;
      for (const res of held.splice(0)) answer(res, proposal());
    },
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

describe('a proposal in flight when PostgreSQL goes away', () => {
  let relay: TcpRelay;
  let proposer: Awaited<ReturnType<typeof startHeldProposer>>;
  let t: TestServer;
  beforeAll(async () => {
    proposer = await startHeldProposer();
    const viaRelay = await startPgRelay();
    relay = viaRelay.relay;
    // A lease of 3 minutes: only the runner itself can close the proposal within this test.
    t = await startTestServer({
      db: 'postgres',
      env: { DATABASE_URL: viaRelay.url, OPENAI_API_KEY: 'sk-test', OPENAI_BASE_URL: proposer.url, PROPOSER_TIMEOUT_MS: '60000' },
      start: { cacheTtlMs: 20 },
    });
  });
  afterAll(async () => {
    relay.up();
    proposer.releaseAll();
    await t.close();
    await relay.close();
    await proposer.close();
  });

  it('ends failed, naming the outage, once the database is back, and the job proposes again', async () => {
    const body = seedJobBody({
      provider: 'sim', model: 'sim-policy', proposerProvider: 'openai', proposerModel: 'gpt-4o-mini', initialPrompt: 'Classify the query.',
      mipro: { online_proposer_min_rollouts: 4, online_rollouts_per_candidate: 2 },
    });
    const created = await api(t.url, 'POST', SESSIONS, { key: t.key, body: { config_body: body } });
    expect(created.status).toBe(200);
    const s = created.body as { session_id: string; proxy_url: string };
    let n = 0;
    const rollouts = async (count: number) => {
      for (let i = 0; i < count; i++, n++) {
        expect((await api(s.proxy_url, 'POST', `/r${n}/chat/completions`, { body: { messages: [{ role: 'user', content: `question ${n}` }] } })).status).toBe(200);
        expect((await api(t.url, 'POST', `${SESSIONS}/${s.session_id}/reward`, { key: t.key, body: { rollout_id: `r${n}`, reward_info: { score: n % 2 } } })).status).toBe(200);
      }
    };
    const proposals = async () => (await api(t.url, 'GET', `${SESSIONS}/${s.session_id}/proposals`, { key: t.key })).body.items as Array<{ status: string; error: string | null }>;

    await rollouts(5);
    await waitFor(async () => proposer.held() === 1, 30_000);
    expect((await proposals()).map((p) => p.status)).toEqual(['running']);

    relay.down();
    const before = relay.accepted();
    proposer.releaseAll(); // the answer arrives; nothing of it can be stored now
    // The runner has met the outage (its reads and writes are refused) before the database comes back.
    await waitFor(async () => relay.accepted() - before >= 3, 30_000);
    relay.up();

    await waitFor(async () => (await proposals())[0]?.status !== 'running', 30_000);
    expect(await proposals()).toMatchObject([{ status: 'failed', error: DATABASE_LOST_ERROR }]);

    // The job goes on: the next proposal (after the next batch of rewards) succeeds.
    await rollouts(5);
    await waitFor(async () => (await proposals()).some((p) => p.status === 'succeeded'), 30_000);
    const status = await api(t.url, 'GET', `${SESSIONS}/${s.session_id}`, { key: t.key });
    expect(status.status).toBe(200);
  }, 180_000);
});
