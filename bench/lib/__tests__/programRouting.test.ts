import { describe, expect, it } from 'vitest';
import type { RecordedRequest } from '../../../test/fakes/fakeUpstream.js';
import { measureProgramRouting, routingVerdicts, tally, type SentCall } from '../programRouting.js';

const request = (body: unknown): RecordedRequest => ({ method: 'POST', url: '/v1/chat/completions', headers: {}, body, rawBody: JSON.stringify(body), connectionId: 1, receivedAt: 0 });

describe('program routing measurement (bench/lib/programRouting.ts)', () => {
  it('counts every module call right and every unmatched call identical on a running server', async () => {
    const r = await measureProgramRouting({ rollouts: 60, concurrency: 4 });
    const matched = Object.values(r.matched);
    expect(matched.every((c) => c.calls > 0 && c.right === c.calls), JSON.stringify(r)).toBe(true);
    // Calls the proxy had to change (explicit variables at least; children once proposals land).
    expect(r.matched.answer.changed).toBeGreaterThan(0);
    expect(r.unmatched.calls).toBeGreaterThan(0);
    expect(r.unmatched.identical).toBe(r.unmatched.calls);
    expect([r.splitRollouts, r.recordMismatches]).toEqual([0, 0]);
    expect(routingVerdicts(r)[1]!.met).toBe(true);
  });

  it('counts a call wrong when the upstream got another module\'s or candidate\'s text, and an unmatched call that changed', () => {
    const programs = new Map([
      ['baseline', { instructions: { extract: 'E.', retrieve: 'Q: {topic}', answer: 'A: {context}' }, changed: [] }],
      ['c1', { instructions: { extract: 'E.', retrieve: 'Query {topic} briefly', answer: 'A: {context}' }, changed: ['retrieve'] }],
    ]);
    const call = (marker: string, module: SentCall['module'], candidateId: string, variables: Record<string, string> = {}): SentCall =>
      ({ marker, rolloutId: 'r', module, variables, candidateId, surface: 'chat', how: 'text', appSystem: module === 'retrieve' ? `Q: ${variables.topic}` : 'A: y' });
    const sys = (text: string, marker: string) => request({ messages: [{ role: 'system', content: text }, { role: 'user', content: marker }] });
    const sentMessages = [{ role: 'system', content: 'other' }, { role: 'user', content: 'm4' }];
    const calls = [
      call('m1', 'retrieve', 'c1', { topic: 'x' }), // right
      call('m2', 'retrieve', 'c1', { topic: 'x' }), // the baseline's text reached the upstream
      call('m3', 'answer', 'c1', { context: 'y' }), // another module's text
      { ...call('m4', null, 'c1'), sent: { messages: sentMessages, tools: undefined } }, // changed on its way
    ];
    const received = new Map([
      ['m1', sys('Query x briefly', 'm1')],
      ['m2', sys('Q: x', 'm2')],
      ['m3', sys('Query y briefly', 'm3')],
      ['m4', request({ messages: [{ role: 'system', content: 'E.' }, { role: 'user', content: 'm4' }] })],
    ]);
    const r = tally(calls, programs, received);
    expect(r.matched.retrieve).toEqual({ calls: 2, right: 1, changed: 2 });
    expect(r.matched.answer).toEqual({ calls: 1, right: 0, changed: 0 });
    expect(r.unmatched).toEqual({ calls: 1, identical: 0 });
    expect(r.examples).toHaveLength(3);
    const verdicts = routingVerdicts({ ...r, rollouts: 1, splitRollouts: 0, seconds: 0 });
    expect(verdicts.map((v) => v.met)).toEqual([false, false]);
    // All right, but too few calls the proxy had to change: the measurement proves nothing.
    const untouched = { calls: 100, right: 100, changed: 0 };
    const allRight = { ...r, matched: { extract: untouched, retrieve: untouched, answer: untouched }, unmatched: { calls: 1, identical: 1 }, recordMismatches: 0, rollouts: 1, splitRollouts: 0, seconds: 0 };
    expect(routingVerdicts(allRight).map((v) => v.met)).toEqual([false, true]);
    const changed = { calls: 100, right: 100, changed: 20 };
    expect(routingVerdicts({ ...allRight, matched: { extract: changed, retrieve: changed, answer: changed } })[0]!.met).toBe(true);
  });
});
