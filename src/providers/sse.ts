/**
 * Server-sent events: the incremental parser (sseParser.ts), helpers to read and write OpenAI-style
 * streams, and the summary of an OpenAI stream for rollout records (completionSummary.ts).
 */
import { SseParser, type SseEvent } from './sseParser.js';

export { SseParser };
export type { SseEvent };

/** Parses a byte stream into events. */
export async function* parseSse(body: AsyncIterable<Uint8Array>): AsyncGenerator<SseEvent, void, undefined> {
  const parser = new SseParser();
  for await (const chunk of body) yield* parser.push(chunk);
  yield* parser.end();
}

/** One `data:` event as OpenAI writes it. */
export function sseData(data: string): string {
  return `data: ${data}\n\n`;
}

export { StreamAccumulator, extractCompletionSummary } from './completionSummary.js';
export type { StreamSummary, ToolCallSummary } from './completionSummary.js';
