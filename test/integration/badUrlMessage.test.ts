import { describe, expect, it } from 'vitest';
import { type TestServer, api } from '../helpers/server.js';
import { useTestServer } from '../helpers/useTestServer.js';

/**
 * A URL whose percent-encoding does not decode (`%ED%A0%80`, a lone surrogate's UTF-8 bytes; a bare
 * `%`) is fastify's FST_ERR_BAD_URL, a 400. Its message quotes the URL, and the error mapping used to
 * read any 4xx message containing "JSON" as a JSON parse error: a GET with no body, asked with
 * `?format=json` (the export route's own parameter), was told "malformed JSON body". Found by the
 * h152 fuzz run. The answer names the path and says nothing of a body.
 */
describe('a URL that does not decode', () => {
  let t: TestServer;
  useTestServer({}, (s) => (t = s));

  it.each([
    ['GET', '/api/policy-optimization/online/jobs/%ED%A0%80/export?format=json'],
    ['GET', '/api/v1/online/sessions/%/events?json=1'],
    ['POST', '/api/mipro/v1/sys_%ED%A0%80/chat/completions?format=json'],
  ])('%s %s is a 400 about the URL, not a JSON body', async (method, path) => {
    const res = await api(t.url, method, path, { key: t.key, ...(method === 'POST' ? { body: { messages: [{ role: 'user', content: 'hi' }] } } : {}) });
    expect(res.status).toBe(400);
    expect(JSON.stringify(res.body)).not.toMatch(/malformed JSON body/);
    expect(res.body.error.message).toMatch(/is not a valid url component/);
    if (path.startsWith('/api/mipro/')) expect(res.body.error.param).toBe('path');
    else expect(res.body.error.details).toEqual([{ path: 'path', message: res.body.error.message }]);
  });
});
