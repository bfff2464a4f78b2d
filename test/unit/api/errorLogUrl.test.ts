import type { FastifyReply, FastifyRequest } from 'fastify';
import { describe, expect, it } from 'vitest';
import { sendError } from '../../../src/api/errorMapping.js';
import { DatabaseUnavailableError } from '../../../src/shared/errors.js';
import type { Logger } from '../../../src/shared/logger.js';

/**
 * The system id in a proxy URL is the proxy's credential (docs/API.md, "Auth"). The lines logged for
 * a 503 (every request during a database outage) and a 500 carried the request URL whole, so the
 * log handed out working proxy URLs of every job called meanwhile.
 */
const SYSTEM_ID = 'sys_5bb0d9521350e003224e5d95fa5c86c9';

function logged(url: string, err: unknown): string {
  const lines: unknown[] = [];
  const log: Logger = { info: (o) => lines.push(o), warn: (o) => lines.push(o), error: (o) => lines.push(o), debug: (o) => lines.push(o) };
  const reply = { code: () => reply, header: () => reply, send: () => reply } as unknown as FastifyReply;
  sendError(err, { id: 'req_1', url } as FastifyRequest, reply, log);
  expect(lines).toHaveLength(1);
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
});
