import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startFakeAnthropic, type FakeAnthropic } from '../fakes/fakeAnthropic.js';
import { lastUserMessageOf, startFakeUpstream, type FakeUpstream, type RecordedRequest } from '../fakes/fakeUpstream.js';
import { addProgram } from '../helpers/programs.js';
import { api, seedJobBody, startTestServer, type TestServer } from '../helpers/server.js';

/**
 * A 3-module program (extract -> retrieve -> answer, as examples/programs.ts) driven by the real
 * SDKs with their default retries, while the upstream fails `retrieve`'s call on purpose: what the
 * client sees (status, retry headers, how often its SDK retries), which candidate each attempt
 * gets, and what the rollout record keeps. UPSTREAM_TIMEOUT_MS is short so a hang costs 1.5 s.
 */
const MODULES = [
  { name: 'extract', template: 'Extract the entities from the question.' },
  { name: 'retrieve', template: 'Write a search query for: {topic}' },
  { name: 'answer', template: 'Answer from this context:\n{context}' },
];
const PROGRAM = { extract: 'EXTRACT.', retrieve: 'QUERY {topic}.', answer: 'ANSWER:\n{context}' };
const RETRIEVE_INPUT = 'retrieve step';
const isRetrieve = (req: RecordedRequest): boolean => lastUserMessageOf(req) === RETRIEVE_INPUT;
const STEPS = [
  { system: MODULES[0]!.template, user: 'q' },
  { system: 'Write a search query for: Eiffel', user: RETRIEVE_INPUT },
  { system: 'Answer from this context:\nIt is tall.', user: 'q' },
];

interface Attempt { status: number; candidate: string | null; shouldRetry: string | null; at: number }

/** fetch that notes every attempt the SDK makes (its retries included) and the proxy's answer. */
function tracing(log: Attempt[]): typeof fetch {
  return async (input, init) => {
    const res = await fetch(input, init);
    log.push({ status: res.status, candidate: res.headers.get('x-mipro-candidate-id'), shouldRetry: res.headers.get('x-should-retry'), at: Date.now() });
    return res;
  };
}

describe('a 3-module program under upstream failures, driven by the real SDKs', () => {
  let oa: FakeUpstream;
  let an: FakeAnthropic;
  let t: TestServer;
  const jobs: Record<'openai' | 'anthropic', { job_id: string; system_id: string; proxy_url: string }> = {} as never;
  let n = 0;

  beforeAll(async () => {
    oa = await startFakeUpstream({ reply: 'ok' });
    an = await startFakeAnthropic({ reply: 'ok' });
    t = await startTestServer({
      env: { OPENAI_API_KEY: 'sk-test', OPENAI_BASE_URL: oa.url, ANTHROPIC_API_KEY: 'sk-ant-test', ANTHROPIC_BASE_URL: an.url, UPSTREAM_TIMEOUT_MS: '1500' },
      start: { cacheTtlMs: 20 },
    });
    for (const provider of ['openai', 'anthropic'] as const) {
      const body = seedJobBody({
        provider, model: provider === 'anthropic' ? 'claude-haiku-4-5' : 'gpt-4o-mini', proposerProvider: 'sim', proposerModel: 'sim-proposer',
        mipro: { online_rollouts_per_candidate: 1, online_proposer_min_rollouts: 1000 },
      });
      Object.assign(body.policy_optimization, { modules: MODULES });
      const res = await api(t.url, 'POST', '/api/policy-optimization/online/jobs', { key: t.key, body });
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      jobs[provider] = res.body;
      await addProgram(t.server.store, res.body.job_id, 'cand_full', PROGRAM, 'answer');
    }
    await new Promise((r) => setTimeout(r, 50)); // the runtime cache (20 ms) sees the candidates
  });
  afterAll(async () => {
    await t.close();
    await oa.close();
    await an.close();
  });
  beforeEach(() => {
    oa.requests.length = 0;
    oa.setBehavior({ reply: 'ok' });
    an.setBehavior({ reply: 'ok' });
  });

  /** One rollout of the program through the openai SDK (default retries); each step's answer or error. */
  /** `abortStreamAfterMs`: the client leaves the streamed step that long after sending it (timed from there, not from the rollout's start: a slow first step must not abort it before it is sent). */
  async function openaiRollout(opts: { streamRetrieve?: boolean; abortStreamAfterMs?: number } = {}) {
    const rid = `rollout-${n++}`;
    const attempts: Attempt[] = [];
    const llm = new OpenAI({ baseURL: `${jobs.openai.proxy_url}/${rid}/v1`, apiKey: 'unused', fetch: tracing(attempts) });
    const answers: string[] = [];
    for (const [i, step] of STEPS.entries()) {
      const messages = [{ role: 'system' as const, content: step.system }, { role: 'user' as const, content: step.user }];
      try {
        if (i === 1 && opts.streamRetrieve) {
          const ac = new AbortController();
          if (opts.abortStreamAfterMs !== undefined) setTimeout(() => ac.abort(), opts.abortStreamAfterMs);
          const stream = await llm.chat.completions.create({ model: 'x', stream: true, messages }, { signal: ac.signal });
          let text = '';
          for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
          answers.push(text);
        } else {
          answers.push((await llm.chat.completions.create({ model: 'x', messages })).choices[0]?.message.content ?? '');
        }
      } catch (err) {
        answers.push(`error ${(err as { status?: number }).status ?? '-'}: ${(err as Error).message}`);
      }
    }
    return { rid, attempts, answers };
  }

  /** The rollout view once its call records landed: status and `seq:module:ok|failed` per call. */
  async function recorded(provider: 'openai' | 'anthropic', rid: string): Promise<{ status: string; calls: string[]; outputs: (string | null)[] }> {
    await t.server.settled();
    const v = (await api(t.url, 'GET', `/api/systems/${jobs[provider].system_id}/rollouts/${rid}`, { key: t.key })).body;
    return {
      status: v.status,
      calls: v.calls.map((c: { seq: number; module: string; failed: boolean }) => `${c.seq}:${c.module}:${c.failed ? 'failed' : 'ok'}`),
      outputs: v.calls.map((c: { output_text: string | null }) => c.output_text),
    };
  }

  const oneCandidate = (attempts: Attempt[]) => new Set(attempts.map((a) => a.candidate)).size === 1 && attempts[0]!.candidate !== null;

  it('500s past the proxy\'s retries: a 502 the SDK retries, on the rollout\'s candidate, the failed attempt recorded as failed', async () => {
    oa.setBehavior({ reply: 'ok', fail: { status: 500, times: 3 }, onlyFor: isRetrieve });
    const r = await openaiRollout();
    expect(r.answers).toEqual(['ok', 'ok', 'ok']);
    expect(r.attempts.map((a) => a.status)).toEqual([200, 502, 200, 200]);
    expect(oneCandidate(r.attempts)).toBe(true);
    expect(oa.requests.filter(isRetrieve)).toHaveLength(4); // the proxy's 3 attempts, then the SDK's retry
    expect(await recorded('openai', r.rid)).toMatchObject({ status: 'completed', calls: ['1:extract:ok', '2:retrieve:failed', '3:retrieve:ok', '4:answer:ok'] });
  });

  it('a 500 marked x-should-retry: false is tried once, by the proxy and by the SDK', async () => {
    oa.setBehavior({ reply: 'ok', fail: { status: 500, headers: { 'x-should-retry': 'false' } }, onlyFor: isRetrieve });
    const r = await openaiRollout();
    expect(r.answers[1]).toMatch(/^error 502/);
    // Before: 3 upstream attempts per client attempt and the header dropped, so the SDK retried twice: 9 in all.
    expect(oa.requests.filter(isRetrieve)).toHaveLength(1);
    expect(r.attempts.map((a) => a.status)).toEqual([200, 502, 200]);
    expect(r.attempts[1]!.shouldRetry).toBe('false');
    expect(await recorded('openai', r.rid)).toMatchObject({ calls: ['1:extract:ok', '2:retrieve:failed', '3:answer:ok'] });
  });

  it('a 429 with retry-after-ms: relayed, the SDK waits that long and retries on the same candidate', async () => {
    oa.setBehavior({ reply: 'ok', fail: { status: 429, times: 3, retryAfter: '1', headers: { 'retry-after-ms': '300' } }, onlyFor: isRetrieve });
    const r = await openaiRollout();
    expect(r.answers).toEqual(['ok', 'ok', 'ok']);
    expect(r.attempts.map((a) => a.status)).toEqual([200, 429, 200, 200]);
    expect(oneCandidate(r.attempts)).toBe(true);
    // The proxy waited 300 ms twice before giving up; the SDK then waited 300 ms, not retry-after's 1 s.
    expect(r.attempts[1]!.at - r.attempts[0]!.at).toBeGreaterThanOrEqual(550);
    const sdkWait = r.attempts[2]!.at - r.attempts[1]!.at;
    expect(sdkWait).toBeGreaterThanOrEqual(280);
    expect(sdkWait).toBeLessThan(950);
  });

  it('a connection reset and a hang: 502 and 504, retried by the SDK, each attempt a failed call', async () => {
    oa.setBehavior({ reply: 'ok', reset: true, onlyFor: isRetrieve });
    const reset = await openaiRollout();
    expect(reset.answers[1]).toMatch(/^error 502: 502 openai is unreachable/);
    expect(reset.attempts.map((a) => a.status)).toEqual([200, 502, 502, 502, 200]);
    expect(oa.requests.filter(isRetrieve)).toHaveLength(9); // 3 SDK attempts x 3 proxy attempts
    oa.requests.length = 0;
    oa.setBehavior({ reply: 'ok', hang: true, onlyFor: isRetrieve });
    const hang = await openaiRollout();
    expect(hang.answers[1]).toMatch(/^error 504: 504 openai did not answer within 1500 ms/);
    expect(oa.requests.filter(isRetrieve)).toHaveLength(3); // a timeout is not retried by the proxy
    expect(oneCandidate(hang.attempts)).toBe(true);
    const rec = await recorded('openai', hang.rid);
    expect(rec).toMatchObject({ status: 'completed', calls: ['1:extract:ok', '2:retrieve:failed', '3:retrieve:failed', '4:retrieve:failed', '5:answer:ok'] });
    // A reward for a rollout with failed calls is accepted and counted like any other.
    const reward = await api(t.url, 'POST', `/api/v1/online/sessions/${jobs.openai.system_id}/reward`, { key: t.key, body: { rollout_id: hang.rid, reward_info: { score: 0 } } });
    expect(reward.body).toMatchObject({ status: 'ok', duplicate: false, split: 'online' });
  }, 30_000);

  it('a stream cut mid-way and a client that aborts mid-stream: recorded failed with what went out, the upstream closed', async () => {
    oa.setBehavior({ reply: 'abcdefghij', chunks: 5, dropAfterChunks: 3, onlyFor: isRetrieve });
    const cut = await openaiRollout({ streamRetrieve: true });
    expect(cut.answers[1]).toMatch(/connection to openai broke while reading the response/);
    expect(await recorded('openai', cut.rid)).toMatchObject({ calls: ['1:extract:ok', '2:retrieve:failed', '3:answer:ok'], outputs: ['abcdefghij', 'abcd', 'abcdefghij'] });
    oa.setBehavior({ reply: 'abcdefghij', chunks: 10, chunkDelayMs: 150, onlyFor: isRetrieve });
    const closedBefore = oa.stats.closedEarly;
    const aborted = await openaiRollout({ streamRetrieve: true, abortStreamAfterMs: 500 });
    const rec = await recorded('openai', aborted.rid);
    expect(rec.calls).toEqual(['1:extract:ok', '2:retrieve:failed', '3:answer:ok']);
    expect(rec.outputs[1]).toBe(aborted.answers[1]); // what the client got before it left
    expect(oa.stats.closedEarly).toBe(closedBefore + 1); // the upstream request was ended, not read to its end
  });

  it('a stream the upstream cuts or leaves silent before its first event: an error the SDK retries, not a 200 that fails', async () => {
    let cut = 0;
    oa.setBehavior({ reply: 'abcdefghij', chunks: 5, dropAfterChunks: 0, onlyFor: (req) => isRetrieve(req) && cut++ === 0 });
    const dropped = await openaiRollout({ streamRetrieve: true });
    // Before: a 200 whose first event was the error, which the SDK cannot retry: the step failed.
    expect(dropped.answers).toEqual(['abcdefghij', 'abcdefghij', 'abcdefghij']);
    expect(dropped.attempts.map((a) => a.status)).toEqual([200, 502, 200, 200]);
    expect(oneCandidate(dropped.attempts)).toBe(true);
    expect(await recorded('openai', dropped.rid)).toMatchObject({ calls: ['1:extract:ok', '2:retrieve:failed', '3:retrieve:ok', '4:answer:ok'] });
    let silent = 0;
    oa.setBehavior({ reply: 'abcdefghij', chunks: 5, stallAfterChunks: 0, onlyFor: (req) => isRetrieve(req) && silent++ === 0 });
    const stalled = await openaiRollout({ streamRetrieve: true });
    expect(stalled.answers[1]).toBe('abcdefghij');
    expect(stalled.attempts.map((a) => a.status)).toEqual([200, 504, 200, 200]);
  });

  it('a stream slower than UPSTREAM_TIMEOUT_MS in all, but never silent that long, completes', async () => {
    oa.setBehavior({ reply: 'abcdefghij', chunks: 8, chunkDelayMs: 300, onlyFor: isRetrieve });
    const r = await openaiRollout({ streamRetrieve: true });
    expect(r.answers).toEqual(['abcdefghij', 'abcdefghij', 'abcdefghij']);
    expect(await recorded('openai', r.rid)).toMatchObject({ calls: ['1:extract:ok', '2:retrieve:ok', '3:answer:ok'] });
  });

  it('anthropic 529 overloaded past the proxy\'s retries: a 502 the Anthropic SDK retries on the same candidate', async () => {
    an.setBehavior({ reply: 'ok', fail: { status: 529, times: 3, type: 'overloaded_error', message: 'Overloaded' }, onlyFor: isRetrieve });
    const rid = `rollout-${n++}`;
    const attempts: Attempt[] = [];
    const llm = new Anthropic({ baseURL: `${jobs.anthropic.proxy_url}/${rid}`, apiKey: 'unused', fetch: tracing(attempts) });
    for (const step of STEPS) {
      const r = await llm.messages.create({ model: 'claude-haiku-4-5', max_tokens: 50, system: step.system, messages: [{ role: 'user', content: step.user }] });
      expect(r.content[0]).toMatchObject({ type: 'text', text: 'ok' });
    }
    expect(attempts.map((a) => a.status)).toEqual([200, 502, 200, 200]);
    expect(oneCandidate(attempts)).toBe(true);
    expect(await recorded('anthropic', rid)).toMatchObject({ calls: ['1:extract:ok', '2:retrieve:failed', '3:retrieve:ok', '4:answer:ok'] });
  });

  it('anthropic: a Messages stream cut before its first event is a 502 the Anthropic SDK retries', async () => {
    let cut = 0;
    an.setBehavior({ reply: 'abcdefghij', chunks: 5, dropAfterChunks: 0, onlyFor: (req) => isRetrieve(req) && cut++ === 0 });
    const rid = `rollout-${n++}`;
    const attempts: Attempt[] = [];
    const llm = new Anthropic({ baseURL: `${jobs.anthropic.proxy_url}/${rid}`, apiKey: 'unused', fetch: tracing(attempts) });
    const step = STEPS[1]!;
    const final = await llm.messages.stream({ model: 'claude-haiku-4-5', max_tokens: 50, system: step.system, messages: [{ role: 'user', content: step.user }] }).finalMessage();
    expect(final.content[0]).toMatchObject({ type: 'text', text: 'abcdefghij' });
    expect(attempts.map((a) => a.status)).toEqual([502, 200]);
    expect(oneCandidate(attempts)).toBe(true);
    expect(await recorded('anthropic', rid)).toMatchObject({ calls: ['1:retrieve:failed', '2:retrieve:ok'] });
  });
});
