import { describe, expect, it } from 'vitest';
import type { FakeUpstream } from '../fakes/fakeUpstream.js';
import { useFakeUpstreamServer } from '../helpers/fakeUpstreamServer.js';
import { type TestServer, addCandidates, api, seedJobBody } from '../helpers/server.js';

/** Val seeds are held out (issue: honest statistics): only a rollout the scheduler issued may run one. */
describe('held-out val seeds at the proxy', () => {
  let fake: FakeUpstream;
  let t: TestServer;
  useFakeUpstreamServer({ upstream: { reply: 'ok' } }, (s) => ({ fake, t } = s));

  it('refuses a val seed on a rollout the scheduler did not issue, and records nothing', async () => {
    const job = (await api(t.url, 'POST', '/api/policy-optimization/online/jobs', { key: t.key, body: seedJobBody({ initialPrompt: 'Answer.' }) })).body;
    const body = { model: 'x', messages: [{ role: 'user', content: 'q' }] };
    const refused = await api(`${job.proxy_url}/mine-1`, 'POST', '/chat/completions?seed=100', { body });
    expect(refused.status).toBe(422);
    expect(refused.body.error.message).toMatch(/seed: 100 is one of the job's val_seeds/);
    const viaHeader = await api(`${job.proxy_url}/mine-2`, 'POST', '/chat/completions', { body, headers: { 'x-mipro-seed': '101' } });
    expect(viaHeader.status).toBe(422);
    expect(fake.requests).toHaveLength(0);
    expect(await t.server.store.getRollout(job.job_id, 'mine-1')).toBeNull();
    expect((await t.server.store.getJob(job.job_id))?.rolloutCount).toBe(0);
    // An online seed is fine.
    expect((await api(`${job.proxy_url}/mine-3`, 'POST', '/chat/completions?seed=2', { body })).status).toBe(200);
  });

  it('runs a val seed on a rollout the scheduler issued for confirmation', async () => {
    const job = (await api(t.url, 'POST', '/api/policy-optimization/online/jobs', { key: t.key, body: seedJobBody({ initialPrompt: 'Answer.' }) })).body;
    // Confirmation work exists once a champion other than the control does.
    await addCandidates(t.server.store, job.job_id, ['cand_val']);
    for (let i = 0; i < 12; i++) {
      for (const [candidate, score] of [['cand_val', 1], ['baseline', 0]] as const) {
        const r = await api(t.url, 'POST', `/api/v1/online/sessions/${job.system_id}/reward`, { key: t.key, body: { candidate_id: candidate, reward_info: { score } } });
        expect(r.status).toBe(200);
      }
    }
    const issued = await api(t.url, 'POST', `/api/v1/online/sessions/${job.system_id}/rollouts`, { key: t.key, body: { split: 'val' } });
    expect(issued.status, JSON.stringify(issued.body)).toBe(200);
    expect(issued.body.split).toBe('val');
    const res = await api(`${job.proxy_url}/${issued.body.rollout_id}`, 'POST', `/chat/completions?seed=${issued.body.seed}`, {
      body: { model: 'x', messages: [{ role: 'user', content: 'q' }] },
    });
    expect(res.status).toBe(200);
    expect((await t.server.store.getRollout(job.job_id, issued.body.rollout_id))?.split).toBe('val');
  });

  it('refuses a val seed on a later call of a training rollout, proxy-made or scheduled: its calls feed the proposer and the demos', async () => {
    const job = (await api(t.url, 'POST', '/api/policy-optimization/online/jobs', { key: t.key, body: seedJobBody({ initialPrompt: 'Answer.' }) })).body;
    const body = (q: string) => ({ model: 'x', messages: [{ role: 'system', content: 'Answer.' }, { role: 'user', content: q }] });
    const before = fake.requests.length;
    expect((await api(`${job.proxy_url}/multi-1`, 'POST', '/chat/completions?seed=1', { body: body('online question') })).status).toBe(200);
    const refused = await api(`${job.proxy_url}/multi-1`, 'POST', '/chat/completions?seed=100', { body: body('held-out question') });
    expect(refused.status, JSON.stringify(refused.body)).toBe(422);
    expect(refused.body.error.param).toBe('seed');
    expect(refused.body.error.message).toMatch(/100 is one of the job's val_seeds.*online rollout/);
    const viaHeader = await api(`${job.proxy_url}/multi-1`, 'POST', '/chat/completions', { body: body('held-out question'), headers: { 'x-mipro-seed': '101' } });
    expect(viaHeader.status).toBe(422);
    // A bootstrap rollout the scheduler issued is training work too.
    const issued = await api(t.url, 'POST', `/api/v1/online/sessions/${job.system_id}/rollouts`, { key: t.key, body: {} });
    expect(issued.status, JSON.stringify(issued.body)).toBe(200);
    expect(issued.body.split).toBe('bootstrap');
    expect((await api(`${job.proxy_url}/${issued.body.rollout_id}`, 'POST', '/chat/completions?seed=102', { body: body('held-out question') })).status).toBe(422);
    // Only the first call went upstream and was recorded: no held-out input in a training rollout.
    expect(fake.requests.length - before).toBe(1);
    const rollout = await api(t.url, 'GET', `/api/systems/${job.system_id}/rollouts/multi-1`, { key: t.key });
    expect(rollout.body.call_count).toBe(1);
    expect(JSON.stringify(rollout.body.calls)).not.toContain('held-out');
  });

  it('refuses a later call of a rollout whose seed differs from the rollout\'s own (a 422 naming seed and the rollout\'s seed), before anything is sent or recorded', async () => {
    const job = (await api(t.url, 'POST', '/api/policy-optimization/online/jobs', { key: t.key, body: seedJobBody({ initialPrompt: 'Answer.' }) })).body;
    const body = { model: 'x', messages: [{ role: 'system', content: 'Answer.' }, { role: 'user', content: 'q' }] };
    const before = fake.requests.length;
    expect((await api(`${job.proxy_url}/seeded-1`, 'POST', '/chat/completions?seed=1', { body })).status).toBe(200);
    // The same seed again, or none: the rollout's seed.
    expect((await api(`${job.proxy_url}/seeded-1`, 'POST', '/chat/completions?seed=1', { body })).status).toBe(200);
    expect((await api(`${job.proxy_url}/seeded-1`, 'POST', '/chat/completions', { body })).status).toBe(200);
    const refused = await api(`${job.proxy_url}/seeded-1`, 'POST', '/chat/completions?seed=2', { body });
    expect(refused.status, JSON.stringify(refused.body)).toBe(422);
    expect(refused.body.error.param).toBe('seed');
    expect(refused.body.error.message).toMatch(/seed: this rollout runs on seed 1.*not 2/);
    const viaHeader = await api(`${job.proxy_url}/seeded-1`, 'POST', '/chat/completions', { body, headers: { 'x-mipro-seed': '3' } });
    expect(viaHeader.status).toBe(422);
    // A rollout whose first call sent no seed has none: a later seed would be silently dropped too.
    expect((await api(`${job.proxy_url}/unseeded-1`, 'POST', '/chat/completions', { body })).status).toBe(200);
    const late = await api(`${job.proxy_url}/unseeded-1`, 'POST', '/chat/completions?seed=2', { body });
    expect(late.status, JSON.stringify(late.body)).toBe(422);
    expect(late.body.error.message).toMatch(/seed: this rollout runs without a seed/);
    // A scheduled rollout runs on the seed it was issued.
    const issued = await api(t.url, 'POST', `/api/v1/online/sessions/${job.system_id}/rollouts`, { key: t.key, body: {} });
    expect(issued.status, JSON.stringify(issued.body)).toBe(200);
    const other = issued.body.seed === 0 ? 1 : 0;
    const wrong = await api(`${job.proxy_url}/${issued.body.rollout_id}`, 'POST', `/chat/completions?seed=${other}`, { body });
    expect(wrong.status, JSON.stringify(wrong.body)).toBe(422);
    expect(wrong.body.error.message).toContain(`runs on seed ${issued.body.seed}`);
    expect((await api(`${job.proxy_url}/${issued.body.rollout_id}`, 'POST', `/chat/completions?seed=${issued.body.seed}`, { body })).status).toBe(200);
    // Only the accepted calls went upstream and were counted.
    expect(fake.requests.length - before).toBe(5);
    expect((await api(t.url, 'GET', `/api/systems/${job.system_id}/rollouts/seeded-1`, { key: t.key })).body.call_count).toBe(3);
  });

  it('refuses a misspelt field in the rollouts body instead of handing out training work', async () => {
    const job = (await api(t.url, 'POST', '/api/policy-optimization/online/jobs', { key: t.key, body: seedJobBody({ initialPrompt: 'Answer.' }) })).body;
    const res = await api(t.url, 'POST', `/api/v1/online/sessions/${job.system_id}/rollouts`, { key: t.key, body: { spilt: 'val' } });
    expect(res.status).toBe(422);
    expect(res.body.error.details).toEqual([{ path: 'spilt', message: 'unknown field; did you mean split?' }]);
    expect((await api(t.url, 'GET', `/api/v1/online/sessions/${job.system_id}`, { key: t.key })).body.rollout_count).toBe(0);
  });
});
