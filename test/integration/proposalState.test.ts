import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closedPortUrl } from '../sdk/helpers.js';
import { type TestServer, api, seedJobBody, simJobBody, startTestServer } from '../helpers/server.js';

const JOBS = '/api/policy-optimization/online/jobs';
const SYSTEM = "Classify the customer's banking query into an intent.";

/**
 * What a job view says about its proposals. A user's job showed `proposal_seq: 6` and one candidate
 * (every proposal had failed: the proposer was unreachable), or `proposal_seq: 10` and no proposal
 * after the 20th candidate (the default online_proposer_max_candidates): nothing in the view, the
 * CLI or the dashboard said why, only the server's log. `failed_proposals`, `last_proposal` and
 * `proposals_stopped` say it.
 */
describe('job views: failed proposals and the cap that stops them', () => {
  let t: TestServer;
  let closed: string;
  beforeAll(async () => {
    closed = await closedPortUrl();
    t = await startTestServer({ env: { MIPROX_ALLOWED_INFERENCE_HOSTS: new URL(closed).host } });
  });
  afterAll(async () => t.close());

  async function drive(body: unknown, rollouts: number) {
    const created = await api(t.url, 'POST', JOBS, { key: t.key, body });
    expect(created.status, JSON.stringify(created.body)).toBe(200);
    const job = created.body as { job_id: string; system_id: string; proxy_url: string };
    for (let i = 0; i < rollouts; i++) {
      const call = await api(`${job.proxy_url}/r${i}`, 'POST', '/chat/completions', { body: { model: 'x', messages: [{ role: 'system', content: SYSTEM }, { role: 'user', content: 'I lost my card' }] } });
      expect(call.status).toBe(200);
      await api(t.url, 'POST', `/api/v1/online/sessions/${job.system_id}/reward`, { key: t.key, body: { rollout_id: `r${i}`, reward_info: { score: i % 2 } } });
      if (i % 3 === 2) await new Promise((r) => setTimeout(r, 30)); // let a triggered proposal finish
    }
    return job;
  }
  const view = async (jobId: string) => (await api(t.url, 'GET', `${JOBS}/${jobId}`, { key: t.key })).body;

  it('a job before its first proposal: none failed, no last proposal, nothing stopped', async () => {
    const job = await drive(simJobBody({}, SYSTEM), 1);
    expect(await view(job.job_id)).toMatchObject({ failed_proposals: 0, last_proposal: null, proposals_stopped: null });
  });

  it('an unreachable proposer: every proposal failed, and the last one says why', async () => {
    const body = seedJobBody({
      provider: 'sim', model: 'sim-policy', proposerProvider: 'openai_compatible', proposerModel: 'p', inferenceUrl: closed,
      mipro: { online_proposer_min_rollouts: 3, online_rollouts_per_candidate: 1 }, initialPrompt: SYSTEM,
    });
    // The policy is the simulator: only the proposer names the closed port.
    delete (body.policy_optimization.policy as { inference_url?: string }).inference_url;
    const job = await drive(body, 12);
    await expect.poll(async () => (await view(job.job_id)).last_proposal?.status).toBe('failed');
    const v = await view(job.job_id);
    expect(v.failed_proposals).toBeGreaterThanOrEqual(1);
    expect(v.failed_proposals).toBe(v.proposal_seq - (v.last_proposal.status === 'running' ? 1 : 0));
    expect(v.last_proposal).toMatchObject({ seq: expect.any(Number), status: 'failed', candidate_ids: [], module: 'main' });
    expect(v.last_proposal.error).toMatch(/unreachable|ECONNREFUSED/);
    expect(v.last_proposal).not.toHaveProperty('prompt'); // the audit list has it; a view stays small
    expect(v.candidate_count).toBe(1);
    expect(v.proposals_stopped).toBeNull();
  });

  it('the candidate cap reached: proposals_stopped names it and its limit', async () => {
    const job = await drive(simJobBody({ online_proposer_min_rollouts: 3, online_rollouts_per_candidate: 1, online_proposer_max_candidates: 3 }, SYSTEM), 30);
    await expect.poll(async () => (await view(job.job_id)).candidate_count).toBe(3);
    const v = await view(job.job_id);
    expect(v.proposals_stopped).toMatchObject({ reason: 'max_candidates', limit: 3 });
    expect(v.proposals_stopped.message).toMatch(/online_proposer_max_candidates \(3\)/);
    expect(v.last_proposal).toMatchObject({ status: 'succeeded', error: null });
    expect(v.last_proposal.candidate_ids.length).toBeGreaterThan(0);
    // The jobs list carries them too (a page of views without candidates).
    const list = (await api(t.url, 'GET', `${JOBS}?limit=10`, { key: t.key })).body.items as { job_id: string; proposals_stopped: unknown }[];
    expect(list.find((j) => j.job_id === job.job_id)?.proposals_stopped).toMatchObject({ reason: 'max_candidates' });
  });
});
