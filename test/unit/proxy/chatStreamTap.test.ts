import { afterEach, describe, expect, it, vi } from 'vitest';
import { tapChatStream } from '../../../src/proxy/chatStreamTap.js';

const enc = new TextEncoder();
const chunk = (s: string) => enc.encode(s);
const TEXT = `data: ${JSON.stringify({ id: 'c1', object: 'chat.completion.chunk', choices: [{ index: 0, delta: { content: 'Paris.' }, finish_reason: 'stop' }] })}\n\n`;

/** A body that sends `chunks`, then stays open until return() (as the providers' bodies close on return). */
function openBody(chunks: Uint8Array[]): { body: AsyncIterable<Uint8Array>; closed: () => boolean } {
  let closed = false;
  let wake: (() => void) | undefined;
  const it: AsyncIterator<Uint8Array> = {
    next: async () => {
      const c = chunks.shift();
      if (c !== undefined) return { done: false, value: c };
      await new Promise<void>((resolve) => (wake = resolve));
      throw new Error('body destroyed');
    },
    return: async () => {
      closed = true;
      wake?.();
      return { done: true, value: undefined };
    },
  };
  return { body: { [Symbol.asyncIterator]: () => it }, closed: () => closed };
}

describe('tapChatStream', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('ends at [DONE] with the record whole, though the upstream keeps its body open; closes that body after a grace', async () => {
    vi.useFakeTimers();
    const upstream = openBody([chunk(TEXT), chunk('data: [DONE]\n\n'), chunk(': keep-alive\n\n')]);
    const { chunks, acc } = tapChatStream(upstream.body);
    const seen: string[] = [];
    for await (const c of chunks) seen.push(new TextDecoder().decode(c));
    expect(seen).toEqual([TEXT, 'data: [DONE]\n\n']);
    expect(acc.summary()).toMatchObject({ text: 'Paris.', done: true });
    expect(upstream.closed()).toBe(false); // drained in the background first
    await vi.advanceTimersByTimeAsync(10_000);
    expect(upstream.closed()).toBe(true);
  });

  it('closes the body when its reader leaves before [DONE]', async () => {
    const upstream = openBody([chunk(TEXT)]);
    const { chunks } = tapChatStream(upstream.body);
    for await (const _ of chunks) break;
    expect(upstream.closed()).toBe(true);
  });
});
