import { describe, expect, it } from 'vitest';
import { api } from '../helpers/server.js';
import { CLIENT_SYSTEM, useSurfaceHarness } from '../helpers/surfaces.js';

/**
 * The rollout id in the `x-mipro-rollout-id` request header, for clients that keep one base URL and
 * set headers per call (docs/API.md, "Proxy details"). It used to be ignored: each call got a rollout
 * of its own (and possibly another candidate), and a reward for the app's id found no call.
 */
const s = useSurfaceHarness(['openai']);
const chat = { model: 'x', messages: [{ role: 'system', content: CLIENT_SYSTEM }, { role: 'user', content: 'q' }] };

describe('x-mipro-rollout-id as a request header', () => {
  it('groups calls without a rollout id in the path into that rollout, on every surface', async () => {
    const job = s.jobs.get('openai')!;
    const headers = { 'x-mipro-rollout-id': 'hdr-run-1' };
    const first = await api(job.proxyUrl, 'POST', '/chat/completions', { body: chat, headers });
    const second = await api(job.proxyUrl, 'POST', '/v1/responses', { body: { model: 'x', instructions: CLIENT_SYSTEM, input: 'q' }, headers });
    expect([first.status, second.status]).toEqual([200, 200]);
    expect([first.headers.get('x-mipro-rollout-id'), second.headers.get('x-mipro-rollout-id')]).toEqual(['hdr-run-1', 'hdr-run-1']);
    expect(second.headers.get('x-mipro-candidate-id')).toBe(first.headers.get('x-mipro-candidate-id'));
    const served = await s.h.served(job, 'hdr-run-1', 2);
    expect(served.rollout.calls).toHaveLength(2);
    // The header is the proxy's: it does not reach the provider.
    expect(s.h.openai.requests.map((r) => r.headers['x-mipro-rollout-id'])).toEqual([undefined, undefined]);
    await s.h.reward(job, 'hdr-run-1', served.candidateId);
  });

  it('agrees with the path or is a 422 naming the header, before anything is sent', async () => {
    const job = s.jobs.get('openai')!;
    const same = await api(`${job.proxyUrl}/hdr-run-2`, 'POST', '/chat/completions', { body: chat, headers: { 'x-mipro-rollout-id': 'hdr-run-2' } });
    expect([same.status, same.headers.get('x-mipro-rollout-id')]).toEqual([200, 'hdr-run-2']);
    s.h.openai.requests.length = 0;
    const other = await api(`${job.proxyUrl}/hdr-run-3`, 'POST', '/chat/completions', { body: chat, headers: { 'x-mipro-rollout-id': 'hdr-run-4' } });
    expect(other.status).toBe(422);
    expect(other.body.error.param).toBe('x-mipro-rollout-id');
    const bad = await api(job.proxyUrl, 'POST', '/chat/completions', { body: chat, headers: { 'x-mipro-rollout-id': 'two words' } });
    expect(bad.status).toBe(422);
    expect(bad.body.error.param).toBe('x-mipro-rollout-id');
    expect(s.h.openai.requests).toHaveLength(0);
    for (const rid of ['hdr-run-3', 'hdr-run-4']) {
      expect((await api(s.h.t.url, 'GET', `/api/systems/${job.systemId}/rollouts/${rid}`, { key: s.h.t.key })).status).toBe(404);
    }
  });
});
