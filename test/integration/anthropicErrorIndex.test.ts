import { describe, expect, it } from 'vitest';
import type { Demo } from '../../src/optimizer/core/demos.js';
import { addModuleCandidates, api } from '../helpers/server.js';
import { CLIENT_SYSTEM, useSurfaceHarness } from '../helpers/surfaces.js';

/**
 * Anthropic's 4xx names the message it refused in its text (`messages.7: ...`), not in a `param`.
 * On a native Messages call miprox put the candidate's demo turns at the head of `messages`, so that
 * index counted them: relayed as written, it pointed the client at another of its messages (or past
 * its last). The client now reads its own index, or that the message is one of the demo turns.
 */
const s = useSurfaceHarness(['anthropic']);
const DEMOS: Demo[] = [
  { input: [{ role: 'user', content: 'demo question 1' }], output: 'demo answer 1', rolloutId: 'r-demo-1' },
  { input: [{ role: 'user', content: 'demo question 2' }], output: 'demo answer 2', rolloutId: 'r-demo-2' },
];
const CLIENT = [{ role: 'user', content: 'q1' }, { role: 'assistant', content: 'a1' }, { role: 'user', content: 'q2' }];
let n = 0;

async function post(url: string, body: unknown): Promise<{ status: number; body: any }> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', 'anthropic-version': '2023-06-01' }, body: JSON.stringify(body) });
  return { status: res.status, body: await res.json() };
}

describe('an Anthropic 4xx naming a message by index, on a call that got demo turns', () => {
  let promoted = false;
  async function withDemoCandidate(): Promise<{ proxyUrl: string }> {
    const job = s.jobs.get('anthropic')!;
    if (!promoted) {
      await addModuleCandidates(s.h.t.server.store, job.jobId, 'main', { cand_demo: 'CANDIDATE with demos.' }, { cand_demo: DEMOS });
      await new Promise((r) => setTimeout(r, 30));
      expect((await api(s.h.t.url, 'POST', `/api/policy-optimization/online/jobs/${job.jobId}/promote`, { key: s.h.t.key, body: { candidate_id: 'cand_demo' } })).status).toBe(200);
      await new Promise((r) => setTimeout(r, 30));
      promoted = true;
    }
    return job;
  }

  it.each([false, true])('native Messages: the client\'s own index, or "one of the demo turns" (stream: %s)', async (stream) => {
    const job = await withDemoCandidate();
    const cases: Array<[string, string]> = [
      // The client's third message, after the four demo turns.
      ['messages.6: `tool_use` ids were found without `tool_result` blocks immediately after: toolu_01A', 'messages.2: `tool_use` ids were found without `tool_result` blocks immediately after: toolu_01A'],
      ['messages.5.content.0.text: text content blocks must be non-empty', 'messages.1.content.0.text: text content blocks must be non-empty'],
      ['messages.1: roles must alternate', 'one of the demo turns miprox inserted before your messages (messages.1 of the request it sent): roles must alternate'],
      ['invalid messages.4 and messages.3.content', 'invalid messages.0 and one of the demo turns miprox inserted before your messages (messages.3.content of the request it sent)'],
      ['max_tokens: must be at least 1', 'max_tokens: must be at least 1'],
    ];
    for (const [upstream, expected] of cases) {
      s.h.anthropic.setBehavior({ fail: { status: 400, type: 'invalid_request_error', message: upstream } });
      const res = await post(`${job.proxyUrl}/e-${n++}/v1/messages`, { model: 'claude-haiku-4-5', max_tokens: 64, system: CLIENT_SYSTEM, messages: CLIENT, stream });
      const sent = s.h.anthropic.requests.at(-1)!.body as { messages: unknown[] };
      expect(sent.messages).toHaveLength(7); // the four demo turns went in first
      expect([upstream, res.status, res.body]).toEqual([upstream, 400, { type: 'error', error: { type: 'invalid_request_error', message: expected } }]);
    }
  });

  it.each([false, true])('a chat call translated for Anthropic: the message is relayed as written (its indexes never were the client\'s) (stream: %s)', async (stream) => {
    const job = await withDemoCandidate();
    const upstream = 'messages.6: roles must alternate';
    s.h.anthropic.setBehavior({ fail: { status: 400, type: 'invalid_request_error', message: upstream } });
    const res = await post(`${job.proxyUrl}/e-${n++}/chat/completions`, { model: 'x', messages: [{ role: 'system', content: CLIENT_SYSTEM }, ...CLIENT], stream });
    expect([res.status, res.body.error.message]).toEqual([400, upstream]);
  });
});
