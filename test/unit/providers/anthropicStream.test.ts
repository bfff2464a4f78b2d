import { describe, expect, it } from 'vitest';
import { translateAnthropicStream } from '../../../src/providers/anthropicStream.js';
import { StreamAccumulator, SseParser } from '../../../src/providers/sse.js';
import { ChatCompletionChunkSchema } from '../../../src/schemas/openai.js';
import { UpstreamError } from '../../../src/shared/errors.js';
import { cutBytes, iterate, readSseFixture } from '../../fixtures/fixtures.js';

const opts = { includeUsage: true, createdSec: 1_700_000_000, model: 'fallback-model' };

async function collect(source: AsyncIterable<Uint8Array>): Promise<{ text: string; error: unknown }> {
  let text = '';
  const dec = new TextDecoder();
  try {
    for await (const chunk of source) text += dec.decode(chunk, { stream: true });
  } catch (err) {
    return { text, error: err };
  }
  return { text, error: undefined };
}

describe('translateAnthropicStream', () => {
  it('turns text and tool_use events into OpenAI chunks, usage and [DONE], whatever the chunking', async () => {
    const bytes = readSseFixture('anthropic-text-tool-use.sse');
    for (const size of [1, 17, 100_000]) {
      const { text, error } = await collect(translateAnthropicStream(iterate(cutBytes(bytes, size)), opts));
      expect(error).toBeUndefined();
      const events = new SseParser().push(text).map((e) => e.data);
      expect(events[events.length - 1]).toBe('[DONE]');
      for (const data of events.slice(0, -1)) {
        const chunk = ChatCompletionChunkSchema.parse(JSON.parse(data));
        expect(chunk.object).toBe('chat.completion.chunk');
        expect(chunk.id).toBe('msg_014p7gG3wDgGV9EUtLvnow3U');
        expect(chunk.model).toBe('claude-sonnet-4-5-20250929');
      }
      const first = JSON.parse(events[0] ?? '{}') as { choices: Array<{ delta: unknown }> };
      expect(first.choices[0]?.delta).toEqual({ role: 'assistant', content: '' });

      const acc = new StreamAccumulator();
      acc.push(text);
      acc.end();
      const s = acc.summary();
      expect(s.done).toBe(true);
      expect(s.finishReason).toBe('tool_calls');
      expect(s.toolCalls).toEqual([
        { id: 'toolu_01T1x1fJ34qAmk2tNTrN7Up6', name: 'get_weather', arguments: '{"location": "San Francisco, CA"}' },
      ]);
      expect(s.text).toBe('Okay, let me check the weather.\nget_weather({"location": "San Francisco, CA"})');
      // 472 input + 100 cache-read tokens; output from message_delta.
      expect(s.usage).toEqual({ prompt_tokens: 572, completion_tokens: 89, total_tokens: 661, prompt_tokens_details: { cached_tokens: 100 } });
    }
  });

  it('emits no usage chunk unless the request asked for it', async () => {
    const { text } = await collect(
      translateAnthropicStream(iterate([readSseFixture('anthropic-text-tool-use.sse')]), { ...opts, includeUsage: false }),
    );
    expect(text).not.toContain('"usage"');
    expect(text.endsWith('data: [DONE]\n\n')).toBe(true);
  });

  it('throws an UpstreamError on an error event, after relaying what came before', async () => {
    const { text, error } = await collect(translateAnthropicStream(iterate([readSseFixture('anthropic-error-midstream.sse')]), opts));
    expect(text).toContain('"content":"Partial"');
    expect(text).not.toContain('[DONE]');
    expect(error).toBeInstanceOf(UpstreamError);
    expect((error as UpstreamError).status).toBe(502);
    expect((error as UpstreamError).upstreamType).toBe('overloaded_error');
  });

  it('throws when the stream ends before message_stop (never a silent cut)', async () => {
    const full = readSseFixture('anthropic-text-tool-use.sse').toString('utf8');
    const cut = full.slice(0, full.indexOf('event: message_delta'));
    const { error } = await collect(translateAnthropicStream(iterate([new TextEncoder().encode(cut)]), opts));
    expect(error).toBeInstanceOf(UpstreamError);
    expect((error as UpstreamError).message).toMatch(/before message_stop/);
  });

  it('passes through errors of the source stream', async () => {
    async function* broken(): AsyncGenerator<Uint8Array> {
      yield readSseFixture('anthropic-text-tool-use.sse').subarray(0, 300);
      throw new UpstreamError('connection broke', { status: 502, code: 'upstream_stream_error' });
    }
    const { error } = await collect(translateAnthropicStream(broken(), opts));
    expect((error as UpstreamError).message).toBe('connection broke');
  });

  it('skips event types it does not know', async () => {
    const full = readSseFixture('anthropic-text-tool-use.sse').toString('utf8');
    const withNew = full.replace('event: ping', 'event: brand_new\ndata: {"type":"brand_new","x":1}\n\nevent: ping');
    const { error, text } = await collect(translateAnthropicStream(iterate([new TextEncoder().encode(withNew)]), opts));
    expect(error).toBeUndefined();
    expect(text).toContain('[DONE]');
  });
});
