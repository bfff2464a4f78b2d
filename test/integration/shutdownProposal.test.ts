import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { startFakeUpstream } from '../fakes/fakeUpstream.js';
import { spawnServer, waitExit } from '../helpers/childServer.js';
import { api, seedJobBody } from '../helpers/server.js';
import { waitFor } from '../helpers/waitFor.js';

const SESSIONS = '/api/v1/online/sessions';
const KEY = 'mpx_shutdown_proposal_key_0001';

interface ProposalItem { proposal_id: string; status: string; error: string | null; candidate_ids: string[] }

/**
 * SIGTERM while a proposal waits on a slow proposer: the shutdown is bounded by SHUTDOWN_GRACE_MS
 * (docs/deploy.md's unit kills the process at TimeoutStopSec=20), so the proposer call is cancelled
 * at the end of the grace period and the proposal ends failed, saying why. Otherwise the process
 * waited for the proposer (up to two PROPOSER_TIMEOUT_MS calls), and a supervisor's SIGKILL left
 * the proposal running, holding the job's lease (3 x PROPOSER_TIMEOUT_MS) after the restart.
 */
describe('a graceful shutdown with a proposal in flight', () => {
  it('cancels the proposer call after the grace period, ends the proposal failed, and the restarted server proposes at once', async () => {
    const policy = await startFakeUpstream({ reply: 'label' });
    const proposer = await startFakeUpstream({ hang: true });
    const env = {
      DATABASE_URL: join(mkdtempSync(join(tmpdir(), 'miprox-stop-')), 'miprox.db'),
      MIPROX_API_KEY: KEY, OPENAI_API_KEY: 'sk-test', OPENAI_BASE_URL: policy.url,
      MIPROX_ALLOWED_INFERENCE_HOSTS: `127.0.0.1:${proposer.port}`,
      SHUTDOWN_GRACE_MS: '300', PROPOSER_TIMEOUT_MS: '20000',
    };
    let server = await spawnServer(env);
    try {
      const body = seedJobBody({
        proposerProvider: 'openai_compatible', inferenceUrl: proposer.url, initialPrompt: 'Answer.',
        mipro: { bootstrap_train_seeds: [0], online_pool: [0, 1, 2, 3], online_proposer_min_rollouts: 3 },
      });
      const s = (await api(server.url, 'POST', SESSIONS, { key: KEY, body: { config_body: body } })).body as { session_id: string; proxy_url: string };
      const traffic = async (base: string, proxyUrl: string, from: number) => {
        for (let i = from; i < from + 6; i++) {
          expect((await api(proxyUrl, 'POST', `/r${i}/chat/completions`, { body: { messages: [{ role: 'user', content: `question ${i}` }] } })).status).toBe(200);
          expect((await api(base, 'POST', `${SESSIONS}/${s.session_id}/reward`, { key: KEY, body: { rollout_id: `r${i}`, reward_info: { score: i % 2 } } })).status).toBe(200);
        }
      };
      await traffic(server.url, s.proxy_url, 0);
      await waitFor(async () => proposer.requests.length > 0); // the proposal holds the lease and waits on the proposer

      const stopAt = Date.now();
      server.proc.kill('SIGTERM');
      expect(await waitExit(server.proc)).toBe(0);
      // The grace period and the work after it, not a proposer timeout (20 s here, 60 s by default).
      expect(Date.now() - stopAt).toBeLessThan(8_000);

      proposer.setBehavior({ reply: JSON.stringify({ instructions: ['Answer with one label.'] }) });
      server = await spawnServer(env);
      const proxyUrl = s.proxy_url.replace(/^http:\/\/[^/]+/, server.url);
      const proposals = async () => (await api(server.url, 'GET', `${SESSIONS}/${s.session_id}/proposals`, { key: KEY })).body.items as ProposalItem[];
      expect(await proposals()).toMatchObject([{ status: 'failed', error: expect.stringMatching(/server shut down while the proposal ran/), candidate_ids: [] }]);
      // The lease was released with the proposal: the next trigger proposes now, not after the lease's 60 s.
      await traffic(server.url, proxyUrl, 100);
      await waitFor(async () => (await proposals()).some((p) => p.status === 'succeeded'), 10_000);
    } finally {
      server.proc.kill('SIGTERM');
      await waitExit(server.proc);
      await policy.close();
      await proposer.close();
    }
  });
});
