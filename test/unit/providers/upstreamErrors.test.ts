import { describe, expect, it } from 'vitest';
import {
  errorFromException,
  errorFromStatus,
  isRetryableException,
  parseErrorBody,
} from '../../../src/providers/upstreamErrors.js';
import { redact } from '../../../src/providers/secretRedaction.js';
import { UpstreamError } from '../../../src/shared/errors.js';

const ctx = { upstreamName: 'openai', upstreamApi: 'openai' as const, secrets: ['sk-secret-123456'] };

describe('parseErrorBody', () => {
  it.each([
    ['OpenAI', '{"error":{"message":"bad model","type":"invalid_request_error","code":"model_not_found"}}', 'bad model', 'invalid_request_error', 'model_not_found'],
    ['Anthropic', '{"type":"error","error":{"type":"rate_limit_error","message":"slow down"}}', 'slow down', 'rate_limit_error', undefined],
    ['vLLM', '{"object":"error","message":"context too long","type":"BadRequestError","code":400}', 'context too long', 'BadRequestError', '400'],
    ['FastAPI', '{"detail":"Not Found"}', 'Not Found', undefined, undefined],
    ['string error', '{"error":"quota"}', 'quota', undefined, undefined],
    ['plain text', 'upstream connect error', 'upstream connect error', undefined, undefined],
    ['empty', '', undefined, undefined, undefined],
  ])('%s', (_name, body, message, type, code) => {
    expect(parseErrorBody(body)).toEqual({ message, type, code });
  });
});

describe('errorFromStatus', () => {
  it('keeps a 4xx status, message, type and code', () => {
    const e = errorFromStatus(404, '{"error":{"message":"The model `x` does not exist","type":"invalid_request_error","code":"model_not_found"}}', ctx);
    expect(e).toBeInstanceOf(UpstreamError);
    expect(e.status).toBe(404);
    expect(e.upstreamStatus).toBe(404);
    expect(e.message).toBe('The model `x` does not exist');
    expect(e.upstreamType).toBe('invalid_request_error');
    expect(e.code).toBe('model_not_found');
  });

  it('turns a 5xx into a 502 that keeps the upstream message and status', () => {
    const e = errorFromStatus(503, '{"error":{"message":"overloaded","type":"server_error"}}', ctx);
    expect(e.status).toBe(502);
    expect(e.upstreamStatus).toBe(503);
    expect(e.message).toContain('overloaded');
    expect(e.message).toContain('503');
  });

  it('never repeats the API key the upstream echoed', () => {
    const e = errorFromStatus(401, '{"error":{"message":"Incorrect API key provided: sk-secret-123456."}}', ctx);
    expect(e.message).not.toContain('sk-secret-123456');
    expect(e.message).toContain('[redacted]');
  });
});

describe('errorFromException', () => {
  const base = { ...ctx, timeoutMs: 1000, callerAborted: false, phase: 'request' as const };
  const withCode = (code: string): Error => Object.assign(new Error(`failed ${code}`), { code });

  it.each([
    ['UND_ERR_HEADERS_TIMEOUT', 504],
    ['UND_ERR_BODY_TIMEOUT', 504],
    ['UND_ERR_CONNECT_TIMEOUT', 504],
    ['ECONNREFUSED', 502],
    ['ENOTFOUND', 502],
    ['UND_ERR_SOCKET', 502],
  ])('%s -> %i', (code, status) => {
    expect(errorFromException(withCode(code), base).status).toBe(status);
  });

  it('finds the code inside an AggregateError (happy eyeballs)', () => {
    const agg = new AggregateError([withCode('ECONNREFUSED')], 'all failed');
    expect(errorFromException(agg, base).message).toContain('ECONNREFUSED');
    expect(isRetryableException(agg, false)).toBe(true);
  });

  it('reports a caller abort as 499, not as an upstream fault', () => {
    const e = errorFromException(new Error('This operation was aborted'), { ...base, callerAborted: true });
    expect(e.status).toBe(499);
    expect(e.code).toBe('client_closed_request');
  });

  it('retries connection failures but not timeouts, aborts or unknown names', () => {
    expect(isRetryableException(withCode('ECONNRESET'), false)).toBe(true);
    expect(isRetryableException(withCode('ECONNRESET'), true)).toBe(false);
    expect(isRetryableException(withCode('UND_ERR_HEADERS_TIMEOUT'), false)).toBe(false);
    expect(isRetryableException(withCode('ENOTFOUND'), false)).toBe(false);
    expect(isRetryableException(new Error('weird'), false)).toBe(false);
  });

  it('redacts secrets from exception messages', () => {
    expect(redact('key sk-secret-123456 leaked twice sk-secret-123456', ctx.secrets)).toBe('key [redacted] leaked twice [redacted]');
  });
});
