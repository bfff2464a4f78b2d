import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeAnthropic, type FakeAnthropic } from '../fakes/fakeAnthropic.js';
import { startFakeUpstream, type FakeUpstream } from '../fakes/fakeUpstream.js';
import { addModuleCandidates, api, seedJobBody, startTestServer, type TestServer } from '../helpers/server.js';
import { waitFor } from '../helpers/waitFor.js';

/**
 * Proxy features together over HTTP (fake OpenAI and Anthropic upstreams, SQLite): surfaces,
 * streaming and accounting where they meet.
 */
const JOBS = '/api/policy-optimization/online/jobs';
const SYSTEM = 'Classify the question.';

interface JobRefs { job_id: string; system_id: string; proxy_url: string }

describe('proxy features together', () => {
  let openai: FakeUpstream;
  let anthropic: FakeAnthropic;
  let t: TestServer;
  beforeAll(async () => {
    openai = await startFakeUpstream({ reply: 'Paris.' });
    anthropic = await startFakeAnthropic({ reply: 'Paris.', usage: { prompt_tokens: 30, completion_tokens: 5 } });
    t = await startTestServer({
      env: { OPENAI_API_KEY: 'sk-test', OPENAI_BASE_URL: openai.url, ANTHROPIC_API_KEY: 'sk-ant-test', ANTHROPIC_BASE_URL: anthropic.url },
      start: { cacheTtlMs: 20 },
    });
  });
  afterAll(async () => {
    await t?.close();
    await openai?.close();
    await anthropic?.close();
  });

  async function newJob(provider: 'openai' | 'anthropic'): Promise<JobRefs> {
    const body = seedJobBody({
      provider, model: provider === 'anthropic' ? 'claude-haiku-4-5' : 'gpt-4o-mini', proposerProvider: 'sim', proposerModel: 'sim-proposer', initialPrompt: SYSTEM,
      mipro: { online_rollouts_per_candidate: 1, online_proposer_min_rollouts: 1000 },
    });
    const res = await api(t.url, 'POST', JOBS, { key: t.key, body });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    return res.body as JobRefs;
  }
  const policyUsage = async (jobId: string) => (await api(t.url, 'GET', `${JOBS}/${jobId}`, { key: t.key })).body.usage.policy;

  it('counts the tokens of a chat stream translated from Anthropic without stream_options.include_usage, and sends no usage chunk', async () => {
    const job = await newJob('anthropic');
    const res = await fetch(`${job.proxy_url}/chat/completions`, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'x', stream: true, messages: [{ role: 'system', content: SYSTEM }, { role: 'user', content: 'q' }] }),
    });
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(text).toContain('data: [DONE]');
    expect(text).not.toContain('"usage"'); // the client did not ask for it
    // Anthropic reported the usage in message_start and message_delta: the job counts it.
    await waitFor(async () => (await policyUsage(job.job_id)).calls === 1);
    expect(await policyUsage(job.job_id)).toEqual({ prompt_tokens: 30, completion_tokens: 5, total_tokens: 35, calls: 1 });
  });

  it('an Anthropic stream the client leaves mid-way, natively on Messages and translated to chat: recorded as failed with what came, its reported input tokens counted', async () => {
    const job = await newJob('anthropic');
    anthropic.setBehavior({ reply: 'one two three four five six seven eight', chunks: 8, chunkDelayMs: 80, usage: { prompt_tokens: 30, completion_tokens: 5 } });
    try {
      const calls: Array<[string, Record<string, unknown>]> = [
        ['messages', { max_tokens: 50, system: SYSTEM, messages: [{ role: 'user', content: 'q' }] }],
        ['chat/completions', { messages: [{ role: 'system', content: SYSTEM }, { role: 'user', content: 'q' }] }],
      ];
      for (const [i, [surface, body]] of calls.entries()) {
        const gone = new AbortController();
        const res = await fetch(`${job.proxy_url}/left-${i}/${surface}`, {
          method: 'POST', signal: gone.signal, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'x', stream: true, ...body }),
        });
        const reader = res.body!.getReader();
        let got = '';
        while (!got.includes('"one')) got += new TextDecoder().decode((await reader.read()).value); // the first text came
        gone.abort();
        const path = `/api/systems/${job.system_id}/rollouts/left-${i}`;
        await waitFor(async () => ((await api(t.url, 'GET', path, { key: t.key })).body?.calls?.length ?? 0) === 1);
        const [call] = (await api(t.url, 'GET', path, { key: t.key })).body.calls;
        expect(call.failed).toBe(true);
        expect(call.output_text.length).toBeGreaterThan(0);
        expect('one two three four five six seven eight'.startsWith(call.output_text)).toBe(true);
      }
      // message_start's input tokens (and its running output count, 1) of both calls.
      await waitFor(async () => (await policyUsage(job.job_id)).calls === 2);
      expect(await policyUsage(job.job_id)).toEqual({ prompt_tokens: 60, completion_tokens: 2, total_tokens: 62, calls: 2 });
      expect((await api(t.url, 'GET', '/healthz')).status).toBe(200);
    } finally {
      anthropic.setBehavior({ reply: 'Paris.', usage: { prompt_tokens: 30, completion_tokens: 5 } });
    }
  });

  it('a native Responses stream the client leaves mid-way: recorded as failed with the text its output_text deltas carried', async () => {
    const job = await newJob('openai');
    openai.setBehavior({ reply: 'one two three four five six seven eight', chunks: 8, chunkDelayMs: 80 });
    try {
      const gone = new AbortController();
      const res = await fetch(`${job.proxy_url}/left-responses/responses`, {
        method: 'POST', signal: gone.signal, headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'x', stream: true, instructions: SYSTEM, input: 'q' }),
      });
      const reader = res.body!.getReader();
      let got = '';
      while (!got.includes('"delta":"one')) got += new TextDecoder().decode((await reader.read()).value); // the first text came
      gone.abort();
      const path = `/api/systems/${job.system_id}/rollouts/left-responses`;
      await waitFor(async () => ((await api(t.url, 'GET', path, { key: t.key })).body?.calls?.length ?? 0) === 1);
      const [call] = (await api(t.url, 'GET', path, { key: t.key })).body.calls;
      expect(call.failed).toBe(true);
      expect(call.output_text.length).toBeGreaterThan(0);
      expect('one two three four five six seven eight'.startsWith(call.output_text)).toBe(true);
    } finally {
      openai.setBehavior({ reply: 'Paris.' });
    }
  });

  it('a Messages call with an empty system (`""`, `[]`) is a call without one: a one-module job takes it and sends its module\'s text, natively and translated', async () => {
    for (const provider of ['anthropic', 'openai'] as const) {
      const job = await newJob(provider);
      const upstream = provider === 'anthropic' ? anthropic : openai;
      for (const [i, system] of [undefined, '', []].entries()) {
        upstream.requests.length = 0;
        const res = await fetch(`${job.proxy_url}/empty-system-${i}/messages`, {
          method: 'POST', headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ model: 'x', max_tokens: 50, ...(system === undefined ? {} : { system }), messages: [{ role: 'user', content: 'q' }] }),
        });
        expect(res.status, await res.clone().text()).toBe(200);
        await res.text();
        expect({ provider, system, module: res.headers.get('x-mipro-module'), unmatched: res.headers.get('x-mipro-unmatched') })
          .toEqual({ provider, system, module: 'main', unmatched: null });
        const sent = upstream.requests[0]!.body as Record<string, any>;
        const sentSystem = provider === 'anthropic' ? sent.system : sent.messages[0].content;
        expect({ provider, system, sentSystem }).toEqual({ provider, system, sentSystem: SYSTEM });
      }
    }
  });

  /** A job of `provider` serving, by promotion, a candidate whose one demo answers 'DEMO-A'. */
  const servingDemoCandidate = async (provider: 'openai' | 'anthropic') => {
    const demos = [{ input: [{ role: 'user' as const, content: 'DEMO-Q' }], output: 'DEMO-A', rolloutId: 'r-demo' }];
    const job = await newJob(provider);
    await addModuleCandidates(t.server.store, job.job_id, 'main', { cand_demo: 'NEW: classify it.' }, { cand_demo: demos });
    const promoted = await api(t.url, 'POST', `${JOBS}/${job.job_id}/promote`, { key: t.key, body: { candidate_id: 'cand_demo' } });
    expect(promoted.status, JSON.stringify(promoted.body)).toBe(200);
    await new Promise((r) => setTimeout(r, 40)); // the runtime cache (20 ms) sees the promotion
    return job;
  };

  it('a call with no turns of its own (its whole prompt in the system text) gets no demos: its conversation never ends on a demo\'s answer', async () => {
    const call = async (url: string, body: unknown) => {
      const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
      expect(res.status, await res.clone().text()).toBe(200);
      expect(res.headers.get('x-mipro-candidate-id')).toBe('cand_demo');
      await res.text();
    };
    const anthropicJob = await servingDemoCandidate('anthropic');
    anthropic.requests.length = 0;
    // Chat translated to Messages: without demos the system text is the one user turn.
    await call(`${anthropicJob.proxy_url}/chat/completions`, { model: 'x', messages: [{ role: 'system', content: SYSTEM }] });
    expect((anthropic.requests[0]!.body as Record<string, unknown>).messages).toEqual([{ role: 'user', content: [{ type: 'text', text: 'NEW: classify it.' }] }]);
    // A turn of its own: the demos go before it, as always.
    anthropic.requests.length = 0;
    await call(`${anthropicJob.proxy_url}/chat/completions`, { model: 'x', messages: [{ role: 'system', content: SYSTEM }, { role: 'user', content: 'q' }] });
    expect(JSON.stringify((anthropic.requests[0]!.body as Record<string, unknown>).messages)).toContain('DEMO-A');

    const openaiJob = await servingDemoCandidate('openai');
    openai.requests.length = 0;
    await call(`${openaiJob.proxy_url}/chat/completions`, { model: 'x', messages: [{ role: 'system', content: SYSTEM }] });
    await call(`${openaiJob.proxy_url}/responses`, { model: 'x', instructions: SYSTEM, input: [] });
    const [chatSent, responsesSent] = openai.requests.map((r) => r.body as Record<string, unknown>);
    expect(chatSent!.messages).toEqual([{ role: 'system', content: 'NEW: classify it.' }]);
    expect(responsesSent).toMatchObject({ instructions: 'NEW: classify it.', input: [] });
  });

  it('a call whose own conversation opens with an assistant turn gets no demos (chat, Responses, Messages): a demo\'s answer would stand right before it, two assistant turns in a row', async () => {
    const sentBody = async (upstream: { requests: Array<{ body: unknown }> }, url: string, body: unknown) => {
      upstream.requests.length = 0;
      const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
      expect(res.status, await res.clone().text()).toBe(200);
      expect(res.headers.get('x-mipro-candidate-id')).toBe('cand_demo');
      await res.text();
      return JSON.stringify(upstream.requests[0]!.body);
    };
    const openaiJob = await servingDemoCandidate('openai');
    const anthropicJob = await servingDemoCandidate('anthropic');
    const leading = [{ role: 'assistant', content: 'Hi, what do you need?' }, { role: 'user', content: 'q' }];
    const cases: Array<[string, { requests: Array<{ body: unknown }> }, string, Record<string, unknown>]> = [
      ['chat', openai, `${openaiJob.proxy_url}/chat/completions`, { messages: [{ role: 'system', content: SYSTEM }, ...leading] }],
      ['chat to anthropic', anthropic, `${anthropicJob.proxy_url}/chat/completions`, { messages: [{ role: 'system', content: SYSTEM }, ...leading] }],
      ['responses', openai, `${openaiJob.proxy_url}/responses`, { instructions: SYSTEM, input: leading }],
      ['messages', anthropic, `${anthropicJob.proxy_url}/messages`, { max_tokens: 50, system: SYSTEM, messages: leading }],
    ];
    for (const [name, upstream, url, body] of cases) {
      const sent = await sentBody(upstream, url, { model: 'x', ...body });
      expect({ name, demo: sent.includes('DEMO-A'), instruction: sent.includes('NEW: classify it.') }).toEqual({ name, demo: false, instruction: true });
      // Opening with the user's turn, the same call gets its demos.
      const own = await sentBody(upstream, url, { model: 'x', ...body, ...(name === 'responses' ? { input: leading.slice(1) } : { messages: name === 'messages' ? leading.slice(1) : [{ role: 'system', content: SYSTEM }, ...leading.slice(1)] }) });
      expect({ name, demo: own.includes('DEMO-A') }).toEqual({ name, demo: true });
    }
  });

  it('a chat call the Anthropic translation cannot carry is a 422 naming the field, before a rollout is recorded or anything sent', async () => {
    const job = await newJob('anthropic');
    const before = anthropic.requests.length;
    const refused: Array<[string, unknown[], string]> = [
      ['audio', [{ role: 'system', content: SYSTEM }, { role: 'user', content: [{ type: 'input_audio', input_audio: { data: 'AAAA', format: 'wav' } }] }], 'messages.1.content.0.type'],
      ['args', [{ role: 'system', content: SYSTEM }, { role: 'user', content: 'q' }, { role: 'assistant', content: null, tool_calls: [{ id: 'c1', type: 'function', function: { name: 'f', arguments: 'not json' } }] }, { role: 'tool', tool_call_id: 'c1', content: 'r' }], 'messages.2.tool_calls.0.function.arguments'],
    ];
    for (const [rollout, messages, param] of refused) {
      const res = await api(`${job.proxy_url}/bad-${rollout}`, 'POST', '/chat/completions', { body: { model: 'x', messages } });
      expect(res.status, JSON.stringify(res.body)).toBe(422);
      expect(res.body.error.param).toBe(param);
      // No rollout: it would hold a bandit slot and count as a reward that never came.
      expect(await t.server.store.getRollout(job.job_id, `bad-${rollout}`)).toBeNull();
    }
    expect(anthropic.requests.length).toBe(before);
    expect((await api(t.url, 'GET', `${JOBS}/${job.job_id}`, { key: t.key })).body.rollout_count).toBe(0);
  });

  it('chat logprobs sent to an Anthropic policy are a 422 naming the field (the answer could not carry them), and logprobs: false goes through', async () => {
    const job = await newJob('anthropic');
    const before = anthropic.requests.length;
    const messages = [{ role: 'system', content: SYSTEM }, { role: 'user', content: 'q' }];
    const refused: Array<[string, Record<string, unknown>, string]> = [
      ['lp', { logprobs: true }, 'logprobs'],
      ['lp-top', { logprobs: true, top_logprobs: 3 }, 'logprobs'],
      ['top', { top_logprobs: 3 }, 'top_logprobs'],
    ];
    for (const [rollout, fields, param] of refused) {
      for (const stream of [false, true]) {
        const res = await api(`${job.proxy_url}/logprobs-${rollout}`, 'POST', '/chat/completions', { body: { model: 'x', messages, stream, ...fields } });
        expect(res.status, JSON.stringify(res.body)).toBe(422);
        expect(res.body.error.param).toBe(param);
        expect(res.body.error.message).toContain('anthropic');
        expect(await t.server.store.getRollout(job.job_id, `logprobs-${rollout}`)).toBeNull();
      }
    }
    expect(anthropic.requests.length).toBe(before);
    const ok = await api(`${job.proxy_url}/logprobs-off`, 'POST', '/chat/completions', { body: { model: 'x', messages, logprobs: false, top_logprobs: null } });
    expect(ok.status, JSON.stringify(ok.body)).toBe(200);
  });
});
