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
 * otherwise store megabytes per call. Over it, the longest texts are cut to an equal share (at least
 * MIN_SHARE characters) so that the rest fits, the conversation's shape kept; one that the cut's
 * marker would leave no shorter stays whole (so the cap can be passed when many strings are just over MIN_SHARE).
 */
export const MAX_STORED_CALL_INPUT = 256 * 1024;
const MIN_SHARE = 256;

/**
 * The input messages as stored: each string in them longer than its cap is cut the same way. Every
 * string counts, not only `content` and text parts: an image's data URL, an assistant turn's tool
 * call arguments or an audio part's data were stored whole (a 4 MB body stored 4 MB per call, twice
 * with the rollout's copy of its first input), though no reader of a record shows more than the part's
 * type. Returns the same array when nothing needed cutting (the usual case costs no copy).
 */
export function capStoredMessages(messages: ChatMessage[], perText = MAX_STORED_CALL_TEXT, total = MAX_STORED_CALL_INPUT): ChatMessage[] {
  // Every proxied call comes here: the usual input, within both caps, is told by one walk that allocates nothing.
  let sum = 0;
  let longest = 0;
  someString(messages, (s) => {
    sum += s.length;
    longest = Math.max(longest, s.length);
    return false;
  });
  if (sum <= total && longest <= perText) return messages;
  const lengths: number[] = [];
  someString(messages, (s) => {
    lengths.push(s.length);
    return false;
  });
  const max = Math.min(perText, Math.max(MIN_SHARE, equalShare(lengths, total)));
  // Over the shared cap, a string is cut only when that stores less: the marker is about 40
  // characters, so one a little longer than a small share came out longer than it went in, its end lost.
  const cut = (length: number) => length > perText || length > max + truncationMarker(length).length;
  if (!lengths.some(cut)) return messages;
  return messages.map((m) => capStrings(m, max, cut) as ChatMessage);
}

/**
 * The largest cap that keeps the strings within `total` together: short strings stay whole, the
 * long ones share what is left equally. Infinity when all fit.
 */
function equalShare(lengths: readonly number[], total: number): number {
  const sorted = [...lengths].sort((a, b) => a - b);
  let left = total;
  for (let i = 0; i < sorted.length; i++) {
    const share = Math.floor(left / (sorted.length - i));
    if (sorted[i]! > share) return share;
    left -= sorted[i]!;
  }
  return Number.POSITIVE_INFINITY;
}

/**
 * Whether `test` holds for a string among the value's (its values, at any depth, keys aside), stopping
 * at the first; `for...in` allocates no list of values. The request's depth is bounded (api/jsonDepth.ts).
 */
function someString(v: unknown, test: (s: string) => boolean): boolean {
  if (typeof v === 'string') return test(v);
  if (Array.isArray(v)) {
    for (const x of v) if (someString(x, test)) return true;
  } else if (typeof v === 'object' && v !== null) {
    const o = v as Record<string, unknown>;
    for (const k in o) if (Object.hasOwn(o, k) && someString(o[k], test)) return true;
  }
  return false;
}

/** The value with each string whose length `cut` holds for cut to `max` by capStoredText; the same object where nothing was. */
function capStrings(v: unknown, max: number, cut: (length: number) => boolean): unknown {
  if (typeof v === 'string') return cut(v.length) ? capStoredText(v, max) : v;
  if (Array.isArray(v)) {
    const out = v.map((x) => capStrings(x, max, cut));
    return out.some((x, i) => x !== v[i]) ? out : v;
  }
  if (typeof v === 'object' && v !== null) {
    const entries = Object.entries(v);
    const out = entries.map(([k, x]) => [k, capStrings(x, max, cut)] as const);
    return out.some(([, x], i) => x !== entries[i]![1]) ? Object.fromEntries(out) : v;
  }
  return v;
}

/** Whether any string in stored input messages was cut by capStoredMessages (the rollout view's `truncated`). */
export function messagesTruncated(messages: readonly unknown[] | null): boolean {
  return someString(messages ?? [], wasTruncated);
}
