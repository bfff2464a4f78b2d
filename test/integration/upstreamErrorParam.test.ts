import { describe, expect, it } from 'vitest';
import type { Demo } from '../../src/optimizer/core/demos.js';
import { addModuleCandidates, api } from '../helpers/server.js';
import { CLIENT_SYSTEM, useSurfaceHarness } from '../helpers/surfaces.js';

/**
 * A provider's 4xx in OpenAI's shape names the field it refused (`param`). Relayed, a client's SDK
 * reads it as `err.param`; it used to come back null. Where the call went upstream as the client sent
 * it (chat completions, Responses to `openai`) the field is the client's own and is kept; a Responses
 * call translated into chat completions got a 4xx about miprox's chat request, whose field the client
 * never sent, so there it stays null.
 */
const s = useSurfaceHarness(['openai', 'openai_compatible']);
const FAIL = { status: 400, message: 'too long', type: 'invalid_request_error', code: 'context_length_exceeded', param: 'messages' };
let n = 0;

async function post(url: string, body: unknown): Promise<{ status: number; error: Record<string, unknown> }> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: res.status, error: ((await res.json()) as { error: Record<string, unknown> }).error };
}

describe("an upstream 4xx keeps the field it names, where that field is the client's", () => {
  const chat = { model: 'x', messages: [{ role: 'system', content: CLIENT_SYSTEM }, { role: 'user', content: 'q' }] };
  const responses = { model: 'x', instructions: CLIENT_SYSTEM, input: 'q' };

  it.each([false, true])('chat completions, as sent (stream: %s)', async (stream) => {
    s.h.openai.setBehavior({ fail: FAIL });
    for (const provider of ['openai', 'openai_compatible'] as const) {
      const res = await post(`${s.jobs.get(provider)!.proxyUrl}/p-${n++}/chat/completions`, { ...chat, stream });
      expect([provider, res.status, res.error]).toEqual([provider, 400, { message: 'too long', type: 'invalid_request_error', param: 'messages', code: 'context_length_exceeded' }]);
    }
  });

  it.each([false, true])('Responses: kept natively, null when translated into chat completions (stream: %s)', async (stream) => {
    s.h.openai.setBehavior({ fail: { ...FAIL, param: 'input' } });
    const native = await post(`${s.jobs.get('openai')!.proxyUrl}/p-${n++}/responses`, { ...responses, stream });
    expect([native.status, native.error.param]).toEqual([400, 'input']);
    s.h.openai.setBehavior({ fail: FAIL });
    const translated = await post(`${s.jobs.get('openai_compatible')!.proxyUrl}/p-${n++}/responses`, { ...responses, stream });
    expect([translated.status, translated.error]).toEqual([400, { message: 'too long', type: 'invalid_request_error', param: null, code: 'context_length_exceeded' }]);
  });

  it('Responses natively, with demo turns inserted into input: the client\'s own item index, null for one of the demos', async () => {
    const job = s.jobs.get('openai')!;
    const demo: Demo = { input: [{ role: 'user', content: 'demo question' }], output: 'demo answer', rolloutId: 'r-demo-src' };
    await addModuleCandidates(s.h.t.server.store, job.jobId, 'main', { cand_demo: 'CANDIDATE with a demo.' }, { cand_demo: [demo] });
    await new Promise((r) => setTimeout(r, 30));
    expect((await api(s.h.t.url, 'POST', `/api/policy-optimization/online/jobs/${job.jobId}/promote`, { key: s.h.t.key, body: { candidate_id: 'cand_demo' } })).status).toBe(200);
    await new Promise((r) => setTimeout(r, 30));
    const input = [{ role: 'user', content: 'q1' }, { role: 'assistant', content: 'a1' }, { role: 'user', content: 'q2' }];
    const cases: Array<[unknown, string, string | null]> = [
      [input, 'input[4].content', 'input[2].content'], // the client's third item, after the two demo turns
      [input, 'input[1]', null], // the demo's answer: miprox's, not the client's
      ['q', 'input[2].content', 'input'], // a string input became the item after the demo turns
      [input, 'temperature', 'temperature'],
    ];
    for (const [clientInput, upstreamParam, expected] of cases) {
      s.h.openai.setBehavior({ fail: { ...FAIL, param: upstreamParam } });
      const res = await post(`${job.proxyUrl}/p-${n++}/responses`, { model: 'x', instructions: CLIENT_SYSTEM, input: clientInput });
      const sent = s.h.openai.requests.at(-1)!.body as { input: { content: unknown }[] };
      expect(sent.input.length).toBe(typeof clientInput === 'string' ? 3 : 5); // the demo turns went in
      expect([upstreamParam, res.status, res.error.param]).toEqual([upstreamParam, 400, expected]);
    }
  });
});
