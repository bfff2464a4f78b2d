import type { FastifyReply, FastifyRequest } from 'fastify';
import { describe, expect, it } from 'vitest';
import { sendError } from '../../../src/api/errorMapping.js';
import { DatabaseUnavailableError, UpstreamError } from '../../../src/shared/errors.js';
import type { Logger } from '../../../src/shared/logger.js';

/**
 * The system id in a proxy URL is the proxy's credential (docs/API.md, "Auth"). The lines logged for
 * a 503 (every request during a database outage) and a 500 carried the request URL whole, so the
 * log handed out working proxy URLs of every job called meanwhile.
 */
const SYSTEM_ID = 'sys_5bb0d9521350e003224e5d95fa5c86c9';

function logged(url: string, err: unknown, expectedLines = 1): string {
  const lines: unknown[] = [];
  const push = (o: unknown, msg?: unknown) => lines.push([o, msg]);
  const log: Logger = { info: push, warn: push, error: push, debug: push };
  const reply = { code: () => reply, header: () => reply, send: () => reply } as unknown as FastifyReply;
  sendError(err, { id: 'req_1', url } as FastifyRequest, reply, log);
  expect(lines).toHaveLength(expectedLines);
  return JSON.stringify(lines);
}

describe('error log lines and the system id', () => {
  it('a 503 during an outage names the route and the job without the whole system id', () => {
    const line = logged(`/api/mipro/v1/${SYSTEM_ID}/r1/chat/completions`, new DatabaseUnavailableError('the database is unavailable; retry shortly'));
    expect(line).not.toContain(SYSTEM_ID);
    expect(line).toContain('/api/mipro/v1/sys_5bb0d9…/r1/chat/completions');
    expect(line).toContain('req_1');
  });

  it('a 500 on a session route keeps it out too', () => {
    const line = logged(`/api/v1/online/sessions/${SYSTEM_ID}/reward`, new Error('boom'));
    expect(line).not.toContain(SYSTEM_ID);
    expect(line).toContain('/api/v1/online/sessions/sys_5bb0d9…/reward');
  });

  it('a failed upstream call (502, 504, 429) is one warning line naming the status, without the whole system id; the provider\'s 400 is not logged', () => {
    const url = `/api/mipro/v1/${SYSTEM_ID}/r1/chat/completions`;
    for (const [status, upstreamStatus] of [[502, 500], [504, undefined], [429, 429]] as const) {
      const line = logged(url, new UpstreamError('upstream answered 500: server overloaded', { status, ...(upstreamStatus ? { upstreamStatus } : {}) }));
      expect(line).toContain('upstream call failed');
      expect(line).toContain(`"status":${status}`);
      expect(line).toContain('server overloaded');
      expect(line).not.toContain(SYSTEM_ID);
    }
    logged(url, new UpstreamError('messages.0.content: required', { status: 400, upstreamStatus: 400 }), 0);
  });

  it('a provider refusing the server\'s own key or account (401, 402, 403) is logged: only the operator can fix it', () => {
    // Before: not logged, as a 400 about the client's request; a revoked provider key failed every
    // proxied call and left nothing in the log.
    const url = `/api/mipro/v1/${SYSTEM_ID}/r1/chat/completions`;
    for (const status of [401, 402, 403]) {
      const line = logged(url, new UpstreamError('Incorrect API key provided: [redacted]', { status, upstreamStatus: status }));
      expect(line).toContain('upstream call failed');
      expect(line).toContain(`"upstreamStatus":${status}`);
      expect(line).not.toContain(SYSTEM_ID);
    }
    logged(url, new UpstreamError('model not found', { status: 404, upstreamStatus: 404 }), 0);
  });

  it('keeps a %-encoded system id out too: the router decodes it and reaches the same job', () => {
    const encoded = [
      `/api/mipro/v1/%73ys_${SYSTEM_ID.slice(4)}/r1/chat/completions`,
      `/api/mipro/v1/sys%5F${SYSTEM_ID.slice(4, 10)}%${SYSTEM_ID.charCodeAt(10).toString(16)}${SYSTEM_ID.slice(11)}/r1/chat/completions`,
      `/api/mipro/v1/${[...SYSTEM_ID].map((c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`).join('')}/r1/chat/completions`,
    ];
    for (const url of encoded) {
      for (const err of [new Error('boom'), new UpstreamError('upstream answered 500', { status: 502, upstreamStatus: 500 })]) {
        const line = logged(url, err);
        expect(line, url).not.toContain(SYSTEM_ID.slice(10));
        expect(line, url).toContain('/api/mipro/v1/sys_5bb0d9…/r1/chat/completions');
      }
    }
  });

  it('logs a credential-named query parameter as [redacted], and the other parameters as sent', () => {
    const line = logged(`/api/mipro/v1/${SYSTEM_ID}/chat/completions?cid=run-7&api_key=sk-live-123456&%6Bey=AIzaSyXYZ&access_token=tok_abc&system_id=${SYSTEM_ID}`, new Error('boom'));
    for (const secret of ['sk-live-123456', 'AIzaSyXYZ', 'tok_abc', SYSTEM_ID]) expect(line).not.toContain(secret);
    expect(line).toContain('/api/mipro/v1/sys_5bb0d9…/chat/completions?cid=run-7&api_key=[redacted]&key=[redacted]&access_token=[redacted]&system_id=sys_5bb0d9…');
  });
});
