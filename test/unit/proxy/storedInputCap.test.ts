import { describe, expect, it } from 'vitest';
import { capStoredMessages, MAX_STORED_CALL_INPUT, wasTruncated } from '../../../src/proxy/recordLimits.js';
import type { ChatMessage } from '../../../src/schemas/openai.js';

/**
 * The shared cap of a call's stored input (MAX_STORED_CALL_INPUT) cuts the longest strings to an
 * equal share of at least 256 characters, each followed by a marker of about 40. A string only a
 * little longer than that share came out longer than it went in, and lost its end for nothing.
 */
describe('capStoredMessages over the shared cap', () => {
  it('never stores a string longer, or cut, when cutting it to the share would not shorten it', () => {
    // 1,000 tool results of 290 characters: 290,000 in all, over the cap; the share is 256.
    const messages: ChatMessage[] = Array.from({ length: 1000 }, (_, i) => ({ role: 'user', content: `${i}:`.padEnd(290, 'x') }));
    const stored = capStoredMessages(messages);
    const length = (ms: ChatMessage[]) => ms.reduce((n, m) => n + (m.content as string).length, 0);
    expect(length(stored)).toBeLessThanOrEqual(length(messages));
    expect(stored.some((m) => wasTruncated(m.content as string))).toBe(false);
    expect(stored).toBe(messages);
  });

  it('still cuts the strings a cut shortens, and keeps the input near the cap', () => {
    const messages: ChatMessage[] = Array.from({ length: 100 }, (_, i) => ({ role: 'user', content: `${i}:`.padEnd(5000, 'x') }));
    const stored = capStoredMessages(messages);
    expect(stored.every((m) => wasTruncated(m.content as string))).toBe(true);
    expect(stored.reduce((n, m) => n + (m.content as string).length, 0)).toBeLessThanOrEqual(MAX_STORED_CALL_INPUT + 100 * 45);
  });
});
