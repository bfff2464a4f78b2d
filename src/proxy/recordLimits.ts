import type { ChatMessage } from '../schemas/openai.js';
import { headOf, storableUpstreamText } from '../optimizer/core/text.js';

/**
 * How much of a call's text a rollout record keeps. The records feed the proposer's reflection and
 * the dashboard, which need the gist of an answer, not all of it; a 50 MB answer used to be stored
 * whole (issue 14, item 3). Longer text keeps its first MAX_STORED_CALL_TEXT characters followed by
 * a marker that says it was cut and how long it was, so a reader can never mistake it for the whole.
 */
export const MAX_STORED_CALL_TEXT = 64 * 1024;

export const truncationMarker = (totalChars: number): string => `\n[miprox: truncated; ${totalChars} characters in all]`;

/** The text as stored: unchanged when short enough, else a prefix and the marker. */
export function capStoredText(text: string | null, max = MAX_STORED_CALL_TEXT): string | null {
  if (text === null || text.length <= max) return text;
  // Never cut a surrogate pair in half: the stored prefix stays valid UTF-16 (and valid UTF-8 in PostgreSQL).
  return headOf(text, max) + truncationMarker(text.length);
}

/**
 * An upstream's answer as a call record stores it: cut as capStoredText does, in storable form
 * (storableUpstreamText). An answer holding U+0000 lost its whole call record on PostgreSQL (the
 * rollout stayed `dispatched`, with no call and no usage) while SQLite kept it; a lone surrogate was
 * stored as one replacement character by PostgreSQL and as three by SQLite. The client gets the
 * answer unchanged.
 */
export function storedAnswerText(text: string | null): string | null {
  const capped = capStoredText(text);
  return capped === null ? null : storableUpstreamText(capped);
}

const MARKER_AT_END = /\n\[miprox: truncated; \d+ characters in all\]$/;

/** Whether a stored text was cut by capStoredText (the views' `truncated` flags). */
export function wasTruncated(text: string | null | undefined): boolean {
  return typeof text === 'string' && MARKER_AT_END.test(text);
}

/** Template variables as stored: each value cut the same way (a captured context can be megabytes). */
export function capStoredVariables(variables: Record<string, string>, max = MAX_STORED_CALL_TEXT): Record<string, string> {
  if (!Object.values(variables).some((v) => v.length > max)) return variables;
  return Object.fromEntries(Object.entries(variables).map(([k, v]) => [k, capStoredText(v, max) ?? v]));
}

/**
 * The most text one call's stored input keeps in all: thousands of messages of 64 KiB each would
 * otherwise store megabytes per call. Over it, every text is cut to an equal share (at least
 * MIN_SHARE characters), the conversation's shape kept.
 */
export const MAX_STORED_CALL_INPUT = 256 * 1024;
const MIN_SHARE = 256;

/**
 * The input messages as stored: each text longer than its cap is cut the same way. Returns the same
 * array when nothing needed cutting (the usual case costs no copy).
 */
export function capStoredMessages(messages: ChatMessage[], perText = MAX_STORED_CALL_TEXT, total = MAX_STORED_CALL_INPUT): ChatMessage[] {
  const lengths = messages.flatMap(textLengths);
  const sum = lengths.reduce((a, b) => a + b, 0);
  const max = sum > total ? Math.min(perText, Math.max(MIN_SHARE, Math.floor(total / lengths.length))) : perText;
  if (!messages.some((m) => tooLong(m, max))) return messages;
  return messages.map((m) => {
    if (!tooLong(m, max)) return m;
    if (typeof m.content === 'string') return { ...m, content: capStoredText(m.content, max) };
    const parts = (m.content ?? []).map((p) => (typeof p.text === 'string' && p.text.length > max ? { ...p, text: capStoredText(p.text, max) } : p));
    return { ...m, content: parts };
  });
}

function textLengths(m: ChatMessage): number[] {
  if (typeof m.content === 'string') return [m.content.length];
  return Array.isArray(m.content) ? m.content.map((p) => (typeof p.text === 'string' ? p.text.length : 0)) : [];
}

function tooLong(m: ChatMessage, max: number): boolean {
  if (typeof m.content === 'string') return m.content.length > max;
  return Array.isArray(m.content) && m.content.some((p) => typeof p.text === 'string' && p.text.length > max);
}
