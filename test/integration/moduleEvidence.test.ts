import { describe, expect, it } from 'vitest';
import { moduleReflection } from '../../src/optimizer/runner/moduleEvidence.js';
import { type TestDb, type TestServer, api, pipelineJobBody } from '../helpers/server.js';
import { useTestServer } from '../helpers/useTestServer.js';

/**
 * What the proposer reads of one module (moduleEvidence.ts): only the first calls of that module in
 * each rollout are loaded, but it is told how many more the rollout made.
 */
describe('module grounding reads a bounded slice of each rollout', () => {
  let t: TestServer;
  useTestServer({}, (s) => (t = s));

  it('shows a module\'s first and last calls of a rollout and counts the rest', async () => {
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
    expect(seen?.output).toBe('answer out 0\n---\nanswer out 4\n(3 more calls of this module in the rollout)');
    expect(JSON.stringify(seen?.input)).not.toMatch(/extract|answer in [123]/);
  });

  it('shows a tool loop by its last call: the whole conversation once and the final answer, not two tool calls', async () => {
    const job = (await api(t.url, 'POST', '/api/policy-optimization/online/jobs', { key: t.key, body: pipelineJobBody() })).body as { job_id: string };
    const store = t.server.store;
    await store.insertRollout({ jobId: job.job_id, id: 'loop', candidateId: 'baseline', seed: 1, split: 'online', correlationId: null, inputMessages: null });
    // An executor in a tool loop: each call resends the conversation with the last tool call and its result.
    const conversation: unknown[] = [{ role: 'user', content: 'Find the refund policy' }];
    for (let i = 0; i < 4; i++) {
      const answer = i < 3 ? `search({"q":"step${i}"})` : 'Refunds are accepted within 30 days.';
      await store.completeRolloutCall(job.job_id, 'loop', {
        outputText: answer, latencyMs: 1, usage: null, failed: false, inputMessages: structuredClone(conversation), module: 'answer', variables: null,
      });
      conversation.push({ role: 'assistant', content: null, tool_calls: [{ id: `call_${i}`, type: 'function', function: { name: 'search', arguments: `{"q":"step${i}"}` } }] });
      conversation.push({ role: 'tool', tool_call_id: `call_${i}`, content: `RESULT-${i}` });
    }
    await store.recordReward({ jobId: job.job_id, rolloutId: 'loop', candidateId: 'baseline', reward: 0, split: 'online', seed: 1, metadata: null, rolloutStored: true }, { eventType: 'mipro.reward.received', message: 'r' });
    const answer = (await store.listModules(job.job_id)).find((m) => m.name === 'answer')!;
    const { worst, best } = await moduleReflection(store, job.job_id, 'baseline', answer);
    const [seen] = [...worst, ...best];
    // Before: the first two calls, outputs `search(step0)` and `search(step1)`, the question twice, no answer.
    expect(seen?.output).toMatch(/^Refunds are accepted within 30 days\.\n\(the last of 4 calls of this module/);
    const shown = JSON.stringify(seen?.input);
    expect(shown.match(/Find the refund policy/g)).toHaveLength(1);
    expect(shown).toContain('RESULT-2');
    expect(shown).not.toContain('call 1');
  });
});

describe('module grounding leaves out calls that failed upstream', () => {
  let t: TestServer;
  useTestServer({}, (s) => (t = s));

  it('shows no failed call as the instruction\'s answer, and no rollout whose calls of the module all failed', async () => {
    const job = (await api(t.url, 'POST', '/api/policy-optimization/online/jobs', { key: t.key, body: pipelineJobBody() })).body as { job_id: string };
    const store = t.server.store;
    const rollout = async (id: string, calls: { failed: boolean; text: string }[], reward: number) => {
      await store.insertRollout({ jobId: job.job_id, id, candidateId: 'baseline', seed: 1, split: 'online', correlationId: null, inputMessages: null });
      for (const c of calls) {
        await store.completeRolloutCall(job.job_id, id, {
          outputText: c.failed ? null : `out ${c.text}`, latencyMs: 1, usage: null, failed: c.failed, inputMessages: [{ role: 'user', content: `in ${c.text}` }], module: 'answer', variables: null,
        });
      }
      await store.recordReward({ jobId: job.job_id, rolloutId: id, candidateId: 'baseline', reward, split: 'online', seed: 1, metadata: null, rolloutStored: true }, { eventType: 'mipro.reward.received', message: 'r' });
    };
    // An outage: the upstream answered 500 to every call of the module; the app scored the rollout 0.
    await rollout('outage', [{ failed: true, text: 'outage' }], 0);
    // A retried call: the first attempt failed, the second answered.
    await rollout('retried', [{ failed: true, text: 'retry 1' }, { failed: false, text: 'retry 2' }], 0.2);
    await rollout('low', [{ failed: false, text: 'low' }], 0.4);
    await rollout('good', [{ failed: false, text: 'good' }], 1);
    const answer = (await store.listModules(job.job_id)).find((m) => m.name === 'answer')!;
    const { worst, best } = await moduleReflection(store, job.job_id, 'baseline', answer);
    const shown = [...worst, ...best];
    // Before the fix the outage was the worst example, its output "(no output)": an upstream failure
    // shown to the proposer as what the instruction made the model answer.
    expect(JSON.stringify(shown)).not.toMatch(/outage|retry 1/);
    expect(shown.map((r) => r.output).sort()).toEqual(['out good', 'out low', 'out retry 2']);
    expect(shown.every((r) => r.output !== null)).toBe(true);
  });
});

describe.each<TestDb>(['sqlite', 'postgres'])('module grounding finds a rarely called module\'s rollouts (%s)', (db) => {
  let t: TestServer;
  useTestServer({ db }, (s) => (t = s));

  it('shows the rollouts that called the module, however many rollouts of the parent did not', async () => {
    const job = (await api(t.url, 'POST', '/api/policy-optimization/online/jobs', { key: t.key, body: pipelineJobBody() })).body as { job_id: string };
    const store = t.server.store;
    // 40 rollouts all call `answer`; only two (rewards in the middle of the range) also call `extract`,
    // as a fallback stage an app runs now and then.
    for (let i = 0; i < 40; i++) {
      const id = `r${i}`;
      await store.insertRollout({ jobId: job.job_id, id, candidateId: 'baseline', seed: i, split: 'online', correlationId: null, inputMessages: null });
      const call = (module: string) => store.completeRolloutCall(job.job_id, id, {
        outputText: `${module} out ${i}`, latencyMs: 1, usage: null, failed: false, inputMessages: [{ role: 'user', content: `${module} in ${i}` }], module, variables: null,
      });
      if (i === 19 || i === 20) await call('extract');
      await call('answer');
      await store.recordReward({ jobId: job.job_id, rolloutId: id, candidateId: 'baseline', reward: i / 40, split: 'online', seed: i, metadata: null, rolloutStored: true }, { eventType: 'mipro.reward.received', message: 'r' });
    }
    const extract = (await store.listModules(job.job_id)).find((m) => m.name === 'extract')!;
    const { worst, best } = await moduleReflection(store, job.job_id, 'baseline', extract);
    // Before the fix only the parent's 12 worst and 12 best rollouts were read, none of which called
    // `extract`: the proposer was told no call of the module had been observed.
    expect([...worst, ...best].map((r) => r.output).sort()).toEqual(['extract out 19', 'extract out 20']);
  });
});

describe.each<TestDb>(['sqlite', 'postgres'])('module grounding leaves out rollouts another module\'s failed call broke (%s)', (db) => {
  let t: TestServer;
  useTestServer({ db }, (s) => (t = s));

  it('shows no rollout with a call that never got an answer, and keeps one whose failed call was retried or cut mid-answer', async () => {
    const job = (await api(t.url, 'POST', '/api/policy-optimization/online/jobs', { key: t.key, body: pipelineJobBody() })).body as { job_id: string };
    const store = t.server.store;
    type Call = { module: string; failed?: boolean; text?: string | null };
    const rollout = async (id: string, calls: Call[], reward: number) => {
      await store.insertRollout({ jobId: job.job_id, id, candidateId: 'baseline', seed: 1, split: 'online', correlationId: null, inputMessages: null });
      for (const c of calls) {
        await store.completeRolloutCall(job.job_id, id, {
          outputText: c.text === undefined ? `${c.module} out ${id}` : c.text, latencyMs: 1, usage: null, failed: c.failed ?? false,
          inputMessages: [{ role: 'user', content: `${c.module} in ${id}` }], module: c.module, variables: null,
        });
      }
      await store.recordReward({ jobId: job.job_id, rolloutId: id, candidateId: 'baseline', reward, split: 'online', seed: 1, metadata: null, rolloutStored: true }, { eventType: 'mipro.reward.received', message: 'r' });
    };
    // `answer`'s upstream timed out on every attempt; the app caught the error and scored the rollout 0.
    await rollout('outage', [{ module: 'extract' }, { module: 'answer', failed: true, text: null }, { module: 'answer', failed: true, text: null }], 0);
    // The SDK's retry of `answer` got an answer: the rollout ran as the program meant.
    await rollout('retried', [{ module: 'extract' }, { module: 'answer', failed: true, text: null }, { module: 'answer' }], 0.2);
    // A stream the client stopped once it had read enough: an answer, if a partial one.
    await rollout('stopped', [{ module: 'extract' }, { module: 'answer', failed: true, text: 'partial' }], 0.3);
    await rollout('low', [{ module: 'extract' }, { module: 'answer' }], 0.4);
    await rollout('good', [{ module: 'extract' }, { module: 'answer' }], 1);
    const extract = (await store.listModules(job.job_id)).find((m) => m.name === 'extract')!;
    const { worst, best } = await moduleReflection(store, job.job_id, 'baseline', extract);
    // Before: the outage was extract's worst example, its fine output beside a 0 no instruction caused.
    expect([...worst, ...best].map((r) => r.output).sort()).toEqual(['extract out good', 'extract out low', 'extract out retried', 'extract out stopped']);
  });
});
