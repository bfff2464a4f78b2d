import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { moduleReflection } from '../../src/optimizer/runner/moduleEvidence.js';
import { type TestServer, api, pipelineJobBody, startTestServer } from '../helpers/server.js';

/**
 * What the proposer reads of one module (moduleEvidence.ts): only the first calls of that module in
 * each rollout are loaded, but it is told how many more the rollout made.
 */
describe('module grounding reads a bounded slice of each rollout', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer();
  });
  afterAll(async () => t.close());

  it('shows a module\'s first two calls of a rollout and counts the rest', async () => {
    const job = (await api(t.url, 'POST', '/api/policy-optimization/online/jobs', { key: t.key, body: pipelineJobBody() })).body as { job_id: string };
    const store = t.server.store;
    await store.insertRollout({ jobId: job.job_id, id: 'r1', candidateId: 'baseline', seed: 1, split: 'online', correlationId: null, inputMessages: null });
    const call = (module: string, i: number) => store.completeRolloutCall(job.job_id, 'r1', {
      outputText: `${module} out ${i}`, latencyMs: 1, usage: null, failed: false, inputMessages: [{ role: 'user', content: `${module} in ${i}` }], module, variables: null,
    });
    for (let i = 0; i < 5; i++) await call('answer', i);
    await call('extract', 0);
    await store.recordReward({ jobId: job.job_id, rolloutId: 'r1', candidateId: 'baseline', reward: 0, split: 'online', seed: 1, metadata: null, rolloutStored: true }, { eventType: 'mipro.reward.received', message: 'r' });
    const answer = (await store.listModules(job.job_id)).find((m) => m.name === 'answer')!;
    const { worst, best } = await moduleReflection(store, job.job_id, 'baseline', answer);
    const [seen] = [...worst, ...best];
    expect(seen?.output).toBe('answer out 0\n---\nanswer out 1\n(3 more calls of this module in the rollout)');
    expect(JSON.stringify(seen?.input)).not.toMatch(/extract|answer in 2/);
  });
});
