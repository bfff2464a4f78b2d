import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '../../src/shared/clock.js';
import { openSqliteStore } from '../../src/store/sqlite/sqliteStore.js';
import type { RolloutRecord, Store } from '../../src/store/types.js';
import { startFakeUpstream } from '../fakes/fakeUpstream.js';
import { spawnServer, waitExit } from '../helpers/childServer.js';
import { type TestServer, api, seedJobBody, startTestServer } from '../helpers/server.js';

/**
 * Issue 14, item 9: a streaming call must never end as an empty or truncated success. A 200 with a
 * JSON body, malformed events, a stream without [DONE] or cut mid-event, and a shutdown past its
 * grace period each end with an error (a 502, or an error event) and a failed rollout record.
 */
const JOBS = '/api/policy-optimization/online/jobs';
const CALL = { messages: [{ role: 'user', content: 'hi' }], stream: true };
const chunk = (text: string) => `data: ${JSON.stringify({ id: 'c1', object: 'chat.completion.chunk', choices: [{ index: 0, delta: { content: text }, finish_reason: null }] })}\n\n`;

/** Events of an SSE body: the data of each. */
const dataOf = (text: string) => text.split('\n\n').filter((e) => e.startsWith('data: ')).map((e) => e.slice(6));

async function settled(store: Store, jobId: string, rolloutId: string): Promise<RolloutRecord> {
  for (let i = 0; i < 100; i++) {
    const r = await store.getRollout(jobId, rolloutId);
    if (r && r.status !== 'dispatched') return r;
    await new Promise((res) => setTimeout(res, 20));
  }
  throw new Error(`rollout ${rolloutId} never finished`);
}

describe('streams that go wrong upstream', () => {
  let mode = '';
  let upstream: Server;
  let t: TestServer;
  let job: { job_id: string; proxy_url: string };
  beforeAll(async () => {
    // A deliberately broken OpenAI-compatible upstream; `mode` picks how it misbehaves.
    upstream = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        if (mode === 'json-error') {
          res.writeHead(200, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ error: { message: 'model overloaded, try later', type: 'server_error' } }));
        } else {
          res.writeHead(200, { 'content-type': 'text/event-stream' });
          if (mode === 'malformed') res.end(`${chunk('a')}this is not an event\n\n${chunk('b')}data: [DONE]\n\n`);
          if (mode === 'no-done') res.end(`${chunk('a')}${chunk('b')}`);
          if (mode === 'mid-event') res.end(`${chunk('a')}data: {"id":"c1","choi`);
          // Ended before one whole event: a proxy in front of the upstream that lost it can end the body so.
          if (mode === 'empty') res.end();
          if (mode === 'first-event-cut') res.end('data: {"id":"c1","choi');
          // The provider's own error after the answer began (no [DONE] follows, as OpenAI ends such a stream).
          if (mode.startsWith('error-after-answer')) res.end(`${chunk('a')}data: ${JSON.stringify({ error: { message: 'the model fell over', type: mode.endsWith('known') ? 'server_error' : 'mystery_error', param: null, code: null } })}\n\n`);
          // Keep-alive comments (and a retry: line), then the end: a proxy's own keep-alive before it lost the upstream.
          if (mode === 'comments-only') res.end(': keep-alive\n\nretry: 3000\n\n: keep-alive\n\n');
        }
      });
    });
    await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
    t = await startTestServer({ env: { OPENAI_API_KEY: 'sk-test', OPENAI_BASE_URL: url, UPSTREAM_MAX_RETRIES: '0' } });
    job = (await api(t.url, 'POST', JOBS, { key: t.key, body: seedJobBody({ initialPrompt: 'Classify.' }) })).body;
  });
  afterAll(async () => {
    await t.close();
    await new Promise((r) => upstream.close(r));
  });

  it('answers a 200 JSON error to a streaming call with a 502 naming it, not an empty success', async () => {
    mode = 'json-error';
    const res = await api(job.proxy_url, 'POST', '/json-error/chat/completions', { body: CALL });
    expect(res.status).toBe(502);
    expect(res.body.error.code).toBe('upstream_bad_stream');
    expect(res.body.error.message).toMatch(/application\/json instead of an event stream: model overloaded/);
    expect((await settled(t.server.store, job.job_id, 'json-error')).status).toBe('failed');
  });

  it.each(['malformed', 'no-done', 'mid-event'])('ends a %s stream with an error event and no [DONE]', async (m) => {
    mode = m;
    const res = await fetch(`${job.proxy_url}/${m}/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(CALL) });
    expect(res.status).toBe(200);
    const events = dataOf(await res.text());
    expect(events).not.toContain('[DONE]');
    expect(events.every((d) => d.startsWith('{'))).toBe(true); // nothing malformed was relayed
    expect(JSON.parse(events.at(-1)!).error.code).toBe('upstream_bad_stream');
    expect((await settled(t.server.store, job.job_id, m)).status).toBe('failed');
  });

  it.each(['error-after-answer', 'error-after-answer-known'])('relays the provider\'s own error event (%s) once, with no error of miprox\'s after it', async (m) => {
    mode = m;
    const res = await fetch(`${job.proxy_url}/${m}/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(CALL) });
    expect(res.status).toBe(200);
    const events = dataOf(await res.text());
    // Before: the provider's event, then an `upstream_bad_stream` one ("ended without data: [DONE]") contradicting it.
    expect(events.filter((d) => d.includes('"error"'))).toHaveLength(1);
    expect(JSON.parse(events.at(-1)!).error).toMatchObject({ message: 'the model fell over' });
    expect((await settled(t.server.store, job.job_id, m)).status).toBe('failed');
  });

  it('ends a translated (Messages) stream whose chat upstream sent its error with one error event of miprox\'s', async () => {
    mode = 'error-after-answer';
    const res = await fetch(`${job.proxy_url}/messages-error/messages`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ ...CALL, max_tokens: 50 }) });
    expect(res.status).toBe(200);
    const errors = (await res.text()).split('\n\n').filter((e) => e.startsWith('event: error'));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/the model fell over/);
    expect((await settled(t.server.store, job.job_id, 'messages-error')).status).toBe('failed');
  });

  // As a dropped connection before the first event (docs/API.md): a 502 the client's SDK retries,
  // not a 200 whose only event is the error, which no SDK retries.
  it.each(['empty', 'first-event-cut', 'comments-only'])('answers an %s stream with a 502 upstream_stream_error', async (m) => {
    mode = m;
    const res = await api(job.proxy_url, 'POST', `/${m}/chat/completions`, { body: CALL });
    expect(res.status).toBe(502);
    expect(res.body.error.code).toBe('upstream_stream_error');
    expect((await settled(t.server.store, job.job_id, m)).status).toBe('failed');
  });
});

describe('a shutdown that runs out of grace during a stream', () => {
  it('ends the stream with an error event, records the call as failed, and exits cleanly', async () => {
    const fake = await startFakeUpstream({ reply: 'x'.repeat(400), chunks: 40, chunkDelayMs: 100 });
    const file = join(mkdtempSync(join(tmpdir(), 'miprox-grace-')), 'miprox.db');
    const key = `mpx_${randomBytes(24).toString('hex')}`;
    const child = await spawnServer({ DATABASE_URL: file, MIPROX_API_KEY: key, OPENAI_API_KEY: 'sk-test', OPENAI_BASE_URL: fake.url, SHUTDOWN_GRACE_MS: '300' });
    try {
      const created = (await api(child.url, 'POST', JOBS, { key, body: seedJobBody({ initialPrompt: 'Classify.' }) })).body;
      const res = await fetch(`${created.proxy_url}/graceful/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(CALL) });
      expect(res.status).toBe(200);
      const reader = res.body!.getReader();
      let text = new TextDecoder().decode((await reader.read()).value);
      child.proc.kill('SIGTERM');
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        text += new TextDecoder().decode(value);
      }
      const events = dataOf(text);
      expect(events).not.toContain('[DONE]');
      expect(JSON.parse(events.at(-1)!).error).toMatchObject({ code: 'shutting_down', type: 'api_error' });
      expect(await waitExit(child.proc)).toBe(0);
      const store = await openSqliteStore(file, systemClock);
      try {
        expect((await store.getRollout(created.job_id, 'graceful'))?.status).toBe('failed');
      } finally {
        await store.close();
      }
    } finally {
      if (child.proc.exitCode === null) child.proc.kill('SIGKILL');
      await fake.close();
    }
  });
});
