import { describe, expect, it } from 'vitest';
import { startProposerServer } from '../helpers/proposerServer.js';
import { api, seedJobBody } from '../helpers/server.js';
import { waitFor } from '../helpers/waitFor.js';

const SESSIONS = '/api/v1/online/sessions';
const JOBS = 11;

/**
 * Every proposer call listens on the one shutdown signal (ProposalRunnerDeps.stopping), one listener
 * per call in flight. With more than ten jobs proposing at once on an instance, Node warned
 * "MaxListenersExceededWarning: Possible EventTarget memory leak detected. 11 abort listeners added
 * to [AbortSignal]" in the server's log: no leak (each call removes its listener), a false alarm.
 */
describe('the shutdown signal with many proposals in flight', () => {
  it('raises no MaxListenersExceededWarning with more than ten proposer calls waiting at once', async () => {
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(`${w.name}: ${w.message}`);
    process.on('warning', onWarning);
    const { t, proposer, close } = await startProposerServer({ policy: { reply: 'label' }, proposer: { hang: true }, env: { SHUTDOWN_GRACE_MS: '100' } });
    try {
      const body = seedJobBody({
        proposerProvider: 'openai_compatible', inferenceUrl: proposer.url, initialPrompt: 'Answer.',
        mipro: { bootstrap_train_seeds: [0], online_pool: [0, 1, 2, 3], online_proposer_min_rollouts: 3 },
      });
      await Promise.all(Array.from({ length: JOBS }, async (_, j) => {
        const s = (await api(t.url, 'POST', SESSIONS, { key: t.key, body: { config_body: body } })).body as { session_id: string; proxy_url: string };
        for (let i = 0; i < 4; i++) {
          expect((await api(s.proxy_url, 'POST', `/r${j}-${i}/chat/completions`, { body: { messages: [{ role: 'user', content: `question ${i}` }] } })).status).toBe(200);
          expect((await api(t.url, 'POST', `${SESSIONS}/${s.session_id}/reward`, { key: t.key, body: { rollout_id: `r${j}-${i}`, reward_info: { score: i % 2 } } })).status).toBe(200);
        }
      }));
      await waitFor(async () => proposer.requests.length >= JOBS, 10_000);
      await new Promise((r) => setImmediate(r)); // a warning is emitted on the next tick
      expect(warnings.filter((w) => w.startsWith('MaxListenersExceededWarning'))).toEqual([]);
    } finally {
      process.off('warning', onWarning);
      await close();
    }
  });
});
