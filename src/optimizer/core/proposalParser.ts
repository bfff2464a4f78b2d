import { instructionLengthLimit } from './proposerPrompt.js';
import { extractPlaceholders, hasNul, normalizeInstruction, truncate, wellFormed } from './text.js';

/**
 * Turns the proposer's reply into validated instructions. Models do not always follow the answer
 * format, so JSON is looked for in the whole reply, in ``` fences, and as the outermost {...} or
 * [...]; a numbered or bulleted list is the fallback. Prose without structure yields nothing: it
 * cannot be told apart from commentary.
 */

/** Why a proposal repeating an existing instruction is rejected (a proposer's normal miss, not a fault). */
export const DUPLICATE = 'duplicate of an existing instruction';

/**
 * Why a reply yielded no instruction at all. It names the shapes that are read, as the job owner
 * who sees it (`miprox jobs show`, the proposal's error) may run a proposer model of their own.
 */
export const UNPARSEABLE_REPLY = 'unparseable reply (expected JSON {"instructions": ["..."]}, fenced or not, or a numbered list)';

export interface ParseContext {
  /** The baseline instruction: every `{placeholder}` in it must survive. */
  baseline: string;
  /** Instructions of existing candidates (any status): proposals repeating one are duplicates. */
  existing: readonly string[];
  /** Accept at most this many (instructions_per_batch, or the room left under the cap). */
  n: number;
  maxLength?: number;
  /** The module is a literal text (discovered from traffic): no placeholders to keep or refuse. */
  literal?: boolean;
}

export interface Rejection {
  text: string;
  reason: string;
}

export interface ParsedProposals {
  accepted: string[];
  rejected: Rejection[];
}

export function parseProposals(text: string, ctx: ParseContext): ParsedProposals {
  const items = fromJson(text) ?? fromList(text);
  if (items.length === 0) return { accepted: [], rejected: [{ text: truncate(text.trim(), 200), reason: UNPARSEABLE_REPLY }] };
  const maxLength = ctx.maxLength ?? instructionLengthLimit(ctx.baseline);
  const required = ctx.literal ? null : extractPlaceholders(ctx.baseline);
  const seen = new Set(ctx.existing.map(normalizeInstruction));
  const accepted: string[] = [];
  const rejected: Rejection[] = [];
  for (const raw of items) {
    // Half an emoji in a model's answer is stored as U+FFFD, alike on both databases.
    const instruction = wellFormed(unquote(raw.trim()));
    const reason = problemWith(instruction, required, maxLength, seen);
    if (reason) {
      rejected.push({ text: truncate(instruction, 200), reason });
    } else if (accepted.length >= Math.max(0, ctx.n)) {
      rejected.push({ text: truncate(instruction, 200), reason: `over the limit of ${ctx.n}` });
    } else {
      accepted.push(instruction);
      seen.add(normalizeInstruction(instruction));
    }
  }
  return { accepted, rejected };
}

/**
 * Why one instruction cannot become a candidate (the rules proposals follow: not empty, not too long,
 * the module's placeholders kept and none added, not a duplicate), or null. For instructions people
 * add by hand (warm start).
 */
export function instructionProblem(instruction: string, ctx: Omit<ParseContext, 'n'> & { addedAreText?: boolean }): string | null {
  return problemWith(instruction, ctx.literal ? null : extractPlaceholders(ctx.baseline), ctx.maxLength ?? instructionLengthLimit(ctx.baseline), new Set(ctx.existing.map(normalizeInstruction)), ctx.addedAreText ?? false);
}

/**
 * `required`: the placeholders to keep; null when the module has none to check (a literal text).
 * `addedAreText`: a `{word}` the baseline lacks is text, sent as written (the proxy fills only the
 * template's placeholders), instead of a refusal.
 */
function problemWith(instruction: string, required: string[] | null, maxLength: number, seen: Set<string>, addedAreText = false): string | null {
  if (instruction.length === 0 || normalizeInstruction(instruction).length === 0) return 'empty';
  if (instruction.length > maxLength) return `too long (${instruction.length} > ${maxLength} characters)`;
  if (hasNul(instruction)) return 'contains a NUL character'; // PostgreSQL text cannot hold one
  if (seen.has(normalizeInstruction(instruction))) return DUPLICATE;
  if (required === null) return null;
  const missing = required.filter((p) => !instruction.includes(p));
  if (missing.length > 0) return `missing placeholder${missing.length > 1 ? 's' : ''} ${missing.join(', ')}`;
  // The program fills only the baseline's placeholders: a new one could never be rendered.
  if (addedAreText) return null;
  const added = extractPlaceholders(instruction).filter((p) => !required.includes(p));
  if (added.length > 0) return `adds placeholder${added.length > 1 ? 's' : ''} ${added.join(', ')} that the program does not fill`;
  return null;
}

/** Instructions from a JSON reply, or null when no JSON with instructions was found. */
function fromJson(text: string): string[] | null {
  const attempts = [text.trim()];
  for (const block of fencedBlocks(text)) if (block) attempts.push(block.trim());
  const firstBrace = text.indexOf('{');
  const lastBrace = text.lastIndexOf('}');
  if (firstBrace >= 0 && lastBrace > firstBrace) attempts.push(text.slice(firstBrace, lastBrace + 1));
  const firstBracket = text.indexOf('[');
  const lastBracket = text.lastIndexOf(']');
  if (firstBracket >= 0 && lastBracket > firstBracket) attempts.push(text.slice(firstBracket, lastBracket + 1));
  for (const attempt of attempts) {
    const items = instructionsIn(tryParse(attempt));
    if (items) return items;
  }
  return null;
}

const FENCE = '```';

/**
 * What ``` fences hold, in order: each opening fence, its info string and the whitespace after it
 * skipped, up to the next fence. What /```[a-zA-Z]*\s*\n?([\s\S]*?)```/g captured, in linear time:
 * after an unclosed fence that pattern retried its lazy capture to the end of the text once for every
 * letter or blank it could give back, and the reply is whatever the proposer's upstream sent (a job's
 * `openai_compatible` proposer names any public server, up to UPSTREAM_MAX_RESPONSE_BYTES): a 400 KB
 * one held the event loop, and the job's write lock, for 15 s.
 */
function fencedBlocks(text: string): string[] {
  // A fence's info string (`json`) and the blanks after it, read where the fence ends (sticky).
  const info = /[a-zA-Z]*\s*/y;
  const blocks: string[] = [];
  for (let from = 0; ;) {
    const open = text.indexOf(FENCE, from);
    if (open < 0) return blocks;
    info.lastIndex = open + FENCE.length;
    info.exec(text);
    const start = info.lastIndex;
    // No closing fence after this one: none after any later opening either.
    const close = text.indexOf(FENCE, start);
    if (close < 0) return blocks;
    blocks.push(text.slice(start, close));
    from = close + FENCE.length;
  }
}

function tryParse(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

const LIST_KEYS = ['instructions', 'proposed_instructions', 'proposals', 'candidates'];
const ITEM_KEYS = ['instruction', 'proposed_instruction', 'text', 'prompt'];

function instructionsIn(value: unknown): string[] | null {
  if (Array.isArray(value)) {
    const items = value.map(itemText).filter((s): s is string => s !== null);
    return items.length > 0 || value.length === 0 ? items : null;
  }
  if (typeof value !== 'object' || value === null) return null;
  const record = value as Record<string, unknown>;
  for (const key of LIST_KEYS) if (Array.isArray(record[key])) return instructionsIn(record[key]);
  const single = itemText(record);
  return single === null ? null : [single];
}

function itemText(item: unknown): string | null {
  if (typeof item === 'string') return item;
  if (typeof item !== 'object' || item === null) return null;
  const record = item as Record<string, unknown>;
  for (const key of ITEM_KEYS) if (typeof record[key] === 'string') return record[key] as string;
  return null;
}

/**
 * A list item's marker and the blanks after it. The patterns here never have two ways to read one
 * run of blanks: `\s+(.*)$` and `\s*#?\d*\s*(?:\*\*)?\s*:` had, and tried them all on a line that
 * did not match, the square (and, for the label, the cube) of the run's length: a proposer reply of
 * "1. Instruction" and 4,000 spaces held the event loop for 9 s.
 */
const MARKER = /^\s*(?:\d{1,2}[.):]|[-*•])\s+/;
/** What `.` does not match: a line holding one after its marker was no item. */
const LINE_BREAK = /[\r\u2028\u2029]/;
/** A leading "Instruction 2:" (optionally in bold) is a label, not part of the instruction. */
const LABEL = /^(?:\*\*)?(?:instruction|proposal|option)\s*(?:#\d*\s*|\d+\s*)?(?:\*\*\s*)?:\s*(?:\*\*\s*)?/i;

/** The text of a list item's line after its marker, or null when the line is not an item. */
function listItemText(line: string): string | null {
  const m = MARKER.exec(line);
  if (!m) return null;
  const rest = line.slice(m[0].length);
  return LINE_BREAK.test(rest) ? null : rest;
}

/** Items of a numbered or bulleted list; continuation lines belong to the item above. */
function fromList(text: string): string[] {
  const items: string[] = [];
  let current: string[] | null = null;
  for (const line of text.split(/\r?\n/)) {
    const item = listItemText(line);
    if (item !== null) {
      if (current) items.push(current.join('\n'));
      current = [item.replace(LABEL, '')];
    } else if (current && line.trim().length > 0) {
      current.push(line.trim());
    } else if (current && line.trim().length === 0 && current.length > 0) {
      items.push(current.join('\n'));
      current = null;
    }
  }
  if (current) items.push(current.join('\n'));
  return items.map((s) => s.trim()).filter((s) => s.length > 0);
}

function unquote(s: string): string {
  const pairs: [string, string][] = [['"', '"'], ["'", "'"], ['“', '”'], ['`', '`']];
  for (const [open, close] of pairs) {
    if (s.length >= 2 && s.startsWith(open) && s.endsWith(close)) return s.slice(1, -1).trim();
  }
  return s;
}
