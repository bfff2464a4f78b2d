import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeUpstream, type FakeUpstream } from '../../../test/fakes/fakeUpstream.js';
import { runLoad } from '../loadClient.js';

describe('runLoad', () => {
  let fake: FakeUpstream;
  beforeAll(async () => {
    fake = await startFakeUpstream();
  });
  afterAll(async () => {
    await fake.close();
  });

  const base = () => ({
    origin: new URL(fake.url).origin,
    headers: { 'content-type': 'application/json' },
    body: '{"model":"m{n}","messages":[{"role":"user","content":"hi"}]}',
  });

  it('measures exactly the requested count after the warm-up, with a fresh {n} per request', async () => {
    const before = fake.requests.length;
    const r = await runLoad({ ...base(), pathTemplate: '/v1/chat/completions?i={n}', connections: 4, warmup: { requests: 10 }, measure: { requests: 50 }, keepSamples: true, firstN: 100 });
    expect(r.measuredRequests).toBe(50);
    expect(r.samplesMs).toHaveLength(50);
    expect(r.errors).toBe(0);
    expect(r.latency.p50).toBeGreaterThan(0);
    const sent = fake.requests.slice(before);
    expect(sent.length).toBe(r.nextN - 100);
    const ids = sent.map((q) => q.url);
    expect(new Set(ids).size).toBe(ids.length);
    expect((sent[0]?.body as { model?: string }).model).toMatch(/^m1\d\d$/);
  });

  it('cycles through `bodies` by request number, {n} replaced in each', async () => {
    const before = fake.requests.length;
    const bodies = ['{"model":"a{n}","messages":[]}', '{"model":"b","messages":[]}', '{"model":"c{n}","messages":[]}'];
    const r = await runLoad({ ...base(), bodies, pathTemplate: '/v1/chat/completions', connections: 1, warmup: { requests: 0 }, measure: { requests: 6 }, firstN: 3 });
    expect(r.errors).toBe(0);
    expect(fake.requests.slice(before).map((q) => (q.body as { model?: string }).model)).toEqual(['a3', 'b', 'c5', 'a6', 'b', 'c8']);
  });

  it('runs for the requested time and reports completions per second', async () => {
    const r = await runLoad({ ...base(), pathTemplate: '/v1/chat/completions', connections: 2, warmup: { ms: 50 }, measure: { ms: 300 } });
    expect(r.wallMs).toBeGreaterThanOrEqual(250);
    expect(r.wallMs).toBeLessThan(1000);
    expect(r.rps).toBeCloseTo((r.measuredRequests / r.wallMs) * 1000, 6);
    expect(r.measuredRequests).toBeGreaterThan(0);
  });

  it('counts non-200 answers as errors, with a sample of what came back', async () => {
    const r = await runLoad({ ...base(), pathTemplate: '/nowhere', connections: 1, warmup: { requests: 0 }, measure: { requests: 3 } });
    expect(r.errors).toBe(3);
    expect(r.measuredRequests).toBe(0);
    expect(r.errorSamples[0]).toMatch(/^404 /);
  });
});
