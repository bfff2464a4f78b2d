import { describe, expect, it } from 'vitest';
import { anthropicStreamStartError, chatStreamStartError, responsesStreamStartError, WAIT, type StreamStartCheck } from '../../../src/providers/streamStartError.js';
import { errorFromStatus } from '../../../src/providers/upstreamErrors.js';

const ev = (data: unknown, event?: string) => ({ event, data: typeof data === 'string' ? data : JSON.stringify(data), id: undefined });
const ctx = { upstreamName: 'up', upstreamApi: 'openai' as const, secrets: ['sk-secret'] };
/** The status a leading event's error stands for, WAIT, or undefined. */
const verdict = (check: StreamStartCheck, data: unknown, event?: string) => {
  const v = check(ev(data, event));
  return typeof v === 'object' ? v.status : v;
};

describe('a stream\'s leading events read as the status their error stands for', () => {
  it('Anthropic: by error type, after message_start and ping; an answer, an unknown type or a malformed event is none', () => {
    expect(verdict(anthropicStreamStartError, { type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } }, 'error')).toBe(529);
    expect(verdict(anthropicStreamStartError, { type: 'error', error: { type: 'rate_limit_error', message: 'slow down' } }, 'error')).toBe(429);
    expect(verdict(anthropicStreamStartError, { type: 'error', error: { type: 'api_error', message: 'x' } }, 'error')).toBe(500);
    expect(verdict(anthropicStreamStartError, { type: 'error', error: { type: 'brand_new_error', message: 'x' } }, 'error')).toBeUndefined();
    expect(verdict(anthropicStreamStartError, { type: 'message_start', message: {} }, 'message_start')).toBe(WAIT);
    expect(verdict(anthropicStreamStartError, { type: 'ping' }, 'ping')).toBe(WAIT);
    expect(verdict(anthropicStreamStartError, { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } }, 'content_block_start')).toBeUndefined();
    expect(verdict(anthropicStreamStartError, 'not json', 'error')).toBeUndefined();
  });

  it('chat completions: OpenAI\'s type or code, or the HTTP status vLLM writes as a numeric code', () => {
    expect(verdict(chatStreamStartError, { error: { message: 'oops', type: 'server_error', param: null, code: null } })).toBe(500);
    expect(verdict(chatStreamStartError, { error: { message: 'slow', type: 'requests', code: 'rate_limit_exceeded' } })).toBe(429);
    expect(verdict(chatStreamStartError, { error: { object: 'error', message: 'bad', type: 'BadRequestError', code: 400 } })).toBe(400);
    expect(verdict(chatStreamStartError, { error: { message: 'who knows' } })).toBeUndefined();
    // OpenAI's first chunk (the role, empty text), Azure's prompt-filter chunk: read on.
    expect(verdict(chatStreamStartError, { id: 'c', object: 'chat.completion.chunk', choices: [{ index: 0, delta: { role: 'assistant', content: '', refusal: null }, logprobs: null, finish_reason: null }] })).toBe(WAIT);
    expect(verdict(chatStreamStartError, { id: '', object: '', choices: [], prompt_filter_results: [] })).toBe(WAIT);
    expect(verdict(chatStreamStartError, { id: 'c', object: 'chat.completion.chunk', choices: [{ index: 0, delta: { content: 'Hi' }, finish_reason: null }] })).toBeUndefined();
    expect(verdict(chatStreamStartError, { id: 'c', object: 'chat.completion.chunk', choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] })).toBeUndefined();
    expect(verdict(chatStreamStartError, { id: 'c', object: 'chat.completion.chunk', choices: [], usage: { prompt_tokens: 1 } })).toBeUndefined();
  });

  it('Responses: an error event by its code, response.failed by its response\'s error', () => {
    expect(verdict(responsesStreamStartError, { type: 'error', sequence_number: 0, code: 'server_error', message: 'm', param: null }, 'error')).toBe(500);
    // The nested form OpenAI also sends for an overloaded server.
    expect(verdict(responsesStreamStartError, { type: 'error', sequence_number: 2, error: { type: 'service_unavailable_error', code: 'server_is_overloaded', message: 'Our servers are currently overloaded.' } }, 'error')).toBe(503);
    const failed = responsesStreamStartError(ev({ type: 'response.failed', response: { status: 'failed', error: { code: 'rate_limit_exceeded', message: 'slow down' } } }, 'response.failed'));
    if (typeof failed !== 'object') throw new Error('expected an error');
    expect(failed.status).toBe(429);
    // The body reads as the provider's error for the status path: message and code kept, the key redacted.
    const err = errorFromStatus(failed.status, failed.body.replace('slow down', 'slow down sk-secret'), ctx, true);
    expect(err).toMatchObject({ status: 429, code: 'rate_limit_exceeded', message: 'slow down [redacted]' });
    expect(verdict(responsesStreamStartError, { type: 'response.created', response: { status: 'in_progress' } }, 'response.created')).toBe(WAIT);
    expect(verdict(responsesStreamStartError, { type: 'response.in_progress', response: { status: 'in_progress' } }, 'response.in_progress')).toBe(WAIT);
    expect(verdict(responsesStreamStartError, { type: 'response.output_item.added', item: {} }, 'response.output_item.added')).toBeUndefined();
    expect(verdict(responsesStreamStartError, { type: 'error', code: 'vector_store_timeout', message: 'm' }, 'error')).toBeUndefined();
  });

  it('says where the 5xx came from in the message: the start of the stream, not an HTTP status', () => {
    const err = errorFromStatus(529, JSON.stringify({ type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } }), { upstreamName: 'anthropic', upstreamApi: 'anthropic' as const, secrets: [] }, true);
    expect(err).toMatchObject({ status: 502, upstreamStatus: 529, upstreamType: 'overloaded_error', message: 'anthropic failed with overloaded_error at the start of its stream: Overloaded' });
  });
});
