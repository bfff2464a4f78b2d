import { Writable } from 'node:stream';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import type { FakeUpstream } from '../fakes/fakeUpstream.js';
import { useProposerServer } from '../helpers/proposerServer.js';
import { type TestServer, api, seedJobBody } from '../helpers/server.js';

const JOBS = '/api/policy-optimization/online/jobs';
const REPEATS = 'Classify the question, repeated.';
const EMPTY = 'Classify the question, empty answer.';

/**
 * How a failed proposal is logged: a proposer that only repeats instructions already tried is a
 * normal miss (info; the mipro.proposal.failed event records it), any other failure is a warning.
 * The demo prints warnings among its progress lines, where a routine repeat alarmed new users.
 */
describe('failed proposals in the log', () => {
  const lines: { level: number; msg: string; error?: string; jobId?: string }[] = [];
  let proposer: FakeUpstream;
  let t: TestServer;
  const sink = new Writable({ write(chunk: Buffer, _enc, done) { for (const l of chunk.toString().split('\n')) if (l) lines.push(JSON.parse(l)); done(); } });
  useProposerServer({
    policy: { reply: 'label' },
    proposer: {
      reply: (req) => {
        const body = JSON.stringify(req.body);
        if (/describe these inputs/.test(body)) return 'Short questions.';
        // The job's own baseline back (a duplicate), or nothing at all.
        return body.includes(REPEATS) ? JSON.stringify({ instructions: [REPEATS] }) : '';
      },
    },
    start: { cacheTtlMs: 20, logger: pino({ level: 'info' }, sink) },
  }, (s) => ({ proposer, t } = s));

  async function failedProposalLog(system: string) {
    const body = seedJobBody({
      proposerProvider: 'openai_compatible', proposerModel: 'fake-proposer', inferenceUrl: proposer.url,
      mipro: { online_proposer_min_rollouts: 3, online_rollouts_per_candidate: 1, online_proposer_max_candidates: 5 },
      initialPrompt: system,
    });
    const created = await api(t.url, 'POST', JOBS, { key: t.key, body });
    expect(created.status, JSON.stringify(created.body)).toBe(200);
    const job = created.body as { job_id: string; system_id: string; proxy_url: string };
    for (let i = 0; i < 6; i++) {
      await api(`${job.proxy_url}/r${i}`, 'POST', '/chat/completions', { body: { model: 'x', messages: [{ role: 'system', content: system }, { role: 'user', content: `q${i}` }] } });
      await api(t.url, 'POST', `/api/v1/online/sessions/${job.system_id}/reward`, { key: t.key, body: { rollout_id: `r${i}`, reward_info: { score: i % 2 } } });
    }
    await t.server.settled(); // the proposals those rewards started have ended (and logged)
    return lines.find((l) => l.jobId === job.job_id && l.msg === 'proposal failed');
  }

  it('logs a proposal that only repeated existing instructions at info, any other failure as a warning', async () => {
    const repeat = await failedProposalLog(REPEATS);
    expect(repeat).toMatchObject({ level: 30, error: 'no usable instruction: duplicate of an existing instruction' });
    const empty = await failedProposalLog(EMPTY);
    expect(empty).toMatchObject({ level: 40, error: expect.stringMatching(/^no usable instruction/) });
  });
});
