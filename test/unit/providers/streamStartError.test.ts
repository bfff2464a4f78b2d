import { describe, expect, it } from 'vitest';
import { anthropicStreamStartError, chatStreamStartError, responsesStreamStartError } from '../../../src/providers/streamStartError.js';
import { errorFromStatus } from '../../../src/providers/upstreamErrors.js';

const ev = (data: unknown, event?: string) => ({ event, data: typeof data === 'string' ? data : JSON.stringify(data), id: undefined });
const ctx = { upstreamName: 'up', secrets: ['sk-secret'] };

describe('a stream\'s first event read as the status its error stands for', () => {
  it('Anthropic: by error type; an answer, an unknown type or a malformed event is none', () => {
    expect(anthropicStreamStartError(ev({ type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } }, 'error'))?.status).toBe(529);
    expect(anthropicStreamStartError(ev({ type: 'error', error: { type: 'rate_limit_error', message: 'slow down' } }, 'error'))?.status).toBe(429);
    expect(anthropicStreamStartError(ev({ type: 'error', error: { type: 'api_error', message: 'x' } }, 'error'))?.status).toBe(500);
    expect(anthropicStreamStartError(ev({ type: 'error', error: { type: 'brand_new_error', message: 'x' } }, 'error'))).toBeUndefined();
    expect(anthropicStreamStartError(ev({ type: 'message_start', message: {} }, 'message_start'))).toBeUndefined();
    expect(anthropicStreamStartError(ev('not json', 'error'))).toBeUndefined();
  });

  it('chat completions: OpenAI\'s type or code, or the HTTP status vLLM writes as a numeric code', () => {
    expect(chatStreamStartError(ev({ error: { message: 'oops', type: 'server_error', param: null, code: null } }))?.status).toBe(500);
    expect(chatStreamStartError(ev({ error: { message: 'slow', type: 'requests', code: 'rate_limit_exceeded' } }))?.status).toBe(429);
    expect(chatStreamStartError(ev({ error: { object: 'error', message: 'bad', type: 'BadRequestError', code: 400 } }))?.status).toBe(400);
    expect(chatStreamStartError(ev({ error: { message: 'who knows' } }))).toBeUndefined();
    expect(chatStreamStartError(ev({ id: 'c', object: 'chat.completion.chunk', choices: [] }))).toBeUndefined();
  });

  it('Responses: an error event by its code, response.failed by its response\'s error', () => {
    expect(responsesStreamStartError(ev({ type: 'error', sequence_number: 0, code: 'server_error', message: 'm', param: null }, 'error'))?.status).toBe(500);
    const failed = responsesStreamStartError(ev({ type: 'response.failed', response: { status: 'failed', error: { code: 'rate_limit_exceeded', message: 'slow down' } } }, 'response.failed'));
    expect(failed?.status).toBe(429);
    // The body reads as the provider's error for the status path: message and code kept, the key redacted.
    const err = errorFromStatus(failed!.status, failed!.body.replace('slow down', 'slow down sk-secret'), ctx, true);
    expect(err).toMatchObject({ status: 429, code: 'rate_limit_exceeded', message: 'slow down [redacted]' });
    expect(responsesStreamStartError(ev({ type: 'response.created', response: { status: 'in_progress' } }, 'response.created'))).toBeUndefined();
    expect(responsesStreamStartError(ev({ type: 'error', code: 'vector_store_timeout', message: 'm' }, 'error'))).toBeUndefined();
  });

  it('says where the 5xx came from in the message: the stream\'s first event, not an HTTP status', () => {
    const err = errorFromStatus(529, JSON.stringify({ type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } }), { upstreamName: 'anthropic', secrets: [] }, true);
    expect(err).toMatchObject({ status: 502, upstreamStatus: 529, upstreamType: 'overloaded_error', message: 'anthropic failed with overloaded_error as its stream\'s first event: Overloaded' });
  });
});
