import { SseParser } from '../../../src/providers/sseParser.js';
import { translateChatStream, type StreamWriter } from '../../../src/proxy/surfaces/chatChunks.js';
import { cutBytes, iterate, readSseFixture, type SseFixture } from '../../fixtures/fixtures.js';

export interface ParsedEvent { event: string | undefined; data: Record<string, unknown> }

export function parseEvents(text: string): ParsedEvent[] {
  return new SseParser().push(text).map((e) => ({ event: e.event, data: JSON.parse(e.data) as Record<string, unknown> }));
}

/** Runs a recorded chat stream through a writer, cut into pieces of `size` bytes. */
export async function translateFixture(name: SseFixture, writer: StreamWriter, size = 100_000): Promise<{ text: string; error: unknown }> {
  let text = '';
  try {
    for await (const piece of translateChatStream(iterate(cutBytes(readSseFixture(name), size)), writer)) text += piece;
  } catch (error) {
    return { text, error };
  }
  return { text, error: undefined };
}

/** Consecutive repeats collapsed: the skeleton of a stream, independent of how many deltas it has. */
export function skeleton(types: readonly string[]): string[] {
  return types.filter((t, i) => t !== types[i - 1]);
}

/** Runs a chat SSE text (one piece) through a writer: what the surface sends. */
export async function translateSse(sse: string, writer: StreamWriter): Promise<string> {
  let out = '';
  for await (const piece of translateChatStream(iterate([Buffer.from(sse)]), writer)) out += piece;
  return out;
}
