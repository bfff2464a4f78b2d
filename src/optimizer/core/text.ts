/** Small text helpers shared by the proposer prompt and the proposal parser. */

const PLACEHOLDER = /\{([A-Za-z_][A-Za-z0-9_.-]*)\}/g;

/**
 * `{name}` placeholders of an instruction, in order of first appearance. Only identifier-like names
 * count, so JSON examples such as `{"answer": 1}` in an instruction are not mistaken for one.
 */
export function extractPlaceholders(text: string): string[] {
  const seen = new Set<string>();
  for (const m of text.matchAll(PLACEHOLDER)) if (m[0]) seen.add(m[0]);
  return [...seen];
}

/** Cut to at most `max` characters, saying so, so a reader knows the text went on. */
export function truncate(text: string, max: number): string {
  if (text.length <= max) return text;
  const head = headOf(text, Math.max(0, max));
  return `${head} …[${text.length - head.length} more characters]`;
}

/**
 * The first `max` UTF-16 units of `text`, one fewer when the cut would split a surrogate pair: half
 * an emoji is not valid Unicode, and some JSON consumers refuse it.
 */
export function headOf(text: string, max: number): string {
  if (text.length <= max) return text;
  const last = text.charCodeAt(max - 1);
  return text.slice(0, max > 0 && last >= 0xd800 && last <= 0xdbff ? max - 1 : max);
}

/** PostgreSQL text cannot hold U+0000 (SQLite can): what a stored text must not contain (schemas/dbText.ts). */
export const NUL_MESSAGE = 'must not contain the NUL character (U+0000)';

export const hasNul = (s: string): boolean => s.includes('\u0000');

/** Whether `text` holds half of a surrogate pair (an emoji cut in two by a UTF-16 slice). */
export const hasLoneSurrogate = (text: string): boolean => !text.isWellFormed();

/**
 * `text` with every lone surrogate replaced by U+FFFD, as a UTF-8 encoder does. SQLite and PostgreSQL
 * store such a text differently (one or three replacement characters), so a text compared with a
 * stored one is compared in this form, and a text stored as it came is stored in it.
 */
export const wellFormed = (text: string): string => text.toWellFormed();

/**
 * Text an upstream sent (an answer, a dataset summary, an error message) as miprox stores it: nobody
 * checked it, so U+0000, which PostgreSQL text cannot hold (the write failed there, SQLite took it),
 * and lone surrogates, which the two databases store differently, each become U+FFFD.
 */
export const storableUpstreamText = (text: string): string => wellFormed(hasNul(text) ? text.replaceAll('\u0000', '\uFFFD') : text);

/** Lowercase, punctuation and symbols removed, whitespace collapsed: the key for duplicate checks. */
export function normalizeInstruction(text: string): string {
  return text
    .toLowerCase()
    .replace(/[\p{P}\p{S}]+/gu, ' ')
    .replace(/\s+/g, ' ')
    .trim();
}

/** A recorded message that is a system (or developer) message: in a call record, the app's own context. */
export function isSystemMessage(m: unknown): boolean {
  return isRecord(m) && (m.role === 'system' || m.role === 'developer');
}

/**
 * Renders a rollout's input (OpenAI-style messages or plain text) as readable lines. Content parts
 * other than text are shown by their type only. A recorded call never holds the module's own
 * system text (the proxy's inputForRecord drops it: the proposer sees the instruction anyway), so a
 * system or developer message here is the app's context beside it (retrieved passages in a second
 * system message): shown, as what the answer was written from, but cut to half the budget (all of
 * them together) so a long context cannot crowd out the question after it.
 */
export function renderInput(input: unknown, maxChars: number): string {
  if (typeof input === 'string') return truncate(input, maxChars);
  if (!Array.isArray(input)) return truncate(safeJson(input), maxChars);
  const lines: string[] = [];
  // Half the budget for all of them together: an example holds up to two calls of the module, each
  // with its context, and half each left the second call's question out.
  const systemChars = Math.floor(maxChars / 2 / Math.max(1, input.filter(isSystemMessage).length));
  // Tool results likewise (a tool loop's later calls resend every result so far): a long first
  // result hid the rest of the loop, later tool calls and the question's follow-ups included.
  const toolChars = Math.floor(maxChars / 2 / Math.max(1, input.filter(isToolResult).length));
  for (const message of input) {
    if (!isRecord(message)) continue;
    const role = typeof message.role === 'string' ? message.role : 'message';
    const text = [contentText(message.content), ...toolCallLines(message)].filter((s) => s.length > 0).join('\n');
    const cut = isSystemMessage(message) ? systemChars : isToolResult(message) ? toolChars : null;
    lines.push(cut === null ? `${role}: ${text}` : `${role}: ${truncate(text, cut)}`);
  }
  return cutMiddle(lines.join('\n'), maxChars);
}

/** Share of a cut conversation kept from its head; the rest comes from its tail. */
const HEAD_SHARE = 0.4;

/**
 * A conversation cut to `max` characters from both ends: its opening (the task) and its last turns,
 * the ones the answer shown after it follows. Cut from the head alone, a long first user turn (a
 * task with its plan) left out every tool call and result of a loop and the turn the model answered.
 */
function cutMiddle(text: string, max: number): string {
  if (text.length <= max) return text;
  const head = headOf(text, Math.floor(max * HEAD_SHARE));
  let tailStart = text.length - (max - head.length);
  // Never start the tail on the low half of a surrogate pair (half an emoji).
  const first = text.charCodeAt(tailStart);
  if (first >= 0xdc00 && first <= 0xdfff) tailStart++;
  return `${head} …[${tailStart - head.length} characters left out]… ${text.slice(tailStart)}`;
}

/** A recorded tool result (chat's `tool` message, as every surface records one; legacy `function`). */
const isToolResult = (m: unknown): boolean => isRecord(m) && (m.role === 'tool' || m.role === 'function');

/**
 * The calls an assistant turn of a tool loop made, one `[tool call] name(arguments)` line each (as
 * the dashboard shows them): such a turn usually has no text, and shown by its content alone it read
 * `assistant: ` before the tool results, so the proposer saw results of calls it was never shown.
 * A legacy `function_call` reads the same way.
 */
function toolCallLines(message: Record<string, unknown>): string[] {
  const calls = Array.isArray(message.tool_calls) ? message.tool_calls : [];
  const legacy = isRecord(message.function_call) ? [{ function: message.function_call }] : [];
  return [...calls, ...legacy].map((call) => {
    const fn = isRecord(call) && isRecord(call.function) ? call.function : {};
    const name = typeof fn.name === 'string' ? fn.name : 'tool';
    const args = typeof fn.arguments === 'string' ? fn.arguments : safeJson(fn.arguments ?? {});
    return `[tool call] ${name}(${args})`;
  });
}

function contentText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (content === null || content === undefined) return '';
  if (!Array.isArray(content)) return safeJson(content);
  return content
    .map((part) => {
      if (!isRecord(part)) return '';
      if (typeof part.text === 'string') return part.text;
      return typeof part.type === 'string' ? `[${part.type}]` : '';
    })
    .filter((s) => s.length > 0)
    .join(' ');
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function safeJson(v: unknown): string {
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return String(v);
  }
}
