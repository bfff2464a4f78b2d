import type { BankingExample, BankingTask } from './bankingTask.js';

/**
 * Reads a proposer prompt the way an LLM would skim it, without depending on its exact layout
 * (src/optimizer/core/proposerPrompt.ts owns that): the parent instruction, the rollouts it shows
 * (recognised by the task's query texts appearing verbatim), the MIPRO tip, how many instructions
 * are asked for, and a length limit if one is stated.
 */
export type ProposerTip = 'none' | 'creative' | 'simple' | 'description' | 'high_stakes' | 'persona';

export interface ObservedRollout {
  example: BankingExample;
  output?: string | undefined;
  reward?: number | undefined;
}

export interface ProposerPromptReading {
  parentInstruction: string;
  /** False when no labelled instruction was found and the task's baseline stands in. */
  parentFound: boolean;
  rollouts: ObservedRollout[];
  tip: ProposerTip;
  requestedCount: number;
  charLimit: number | undefined;
}

export const DEFAULT_REQUESTED_COUNT = 2;
const MAX_REQUESTED_COUNT = 8;

// ---- parent instruction -------------------------------------------------------------------------

/**
 * An opening tag; its text runs to the first closing tag of the same name (any case), trimmed. Read
 * with indexOf-like searches, not one pattern: `<tag>\s*([\s\S]*?)\s*<\/\1>` tries every split
 * of a run of blanks after a tag that is never closed (cube of its length: 10,000 blanks held the
 * event loop 150 s), and the prompt quotes texts proxy callers sent (a discovered module's text).
 */
const TAG_OPEN = /<(parent_instruction|current_instruction|parent|instruction)>/gi;
const TAG_CLOSE: Readonly<Record<string, RegExp>> = {
  parent_instruction: /<\/parent_instruction>/gi,
  current_instruction: /<\/current_instruction>/gi,
  parent: /<\/parent>/gi,
  instruction: /<\/instruction>/gi,
};

/** The trimmed text of the first tag that is closed (what the old pattern's second group held). Linear time. */
export function taggedText(text: string): string | undefined {
  // A name whose closing tag is not after one opening is not after any later one: searched once.
  const unclosed = new Set<string>();
  for (const m of text.matchAll(TAG_OPEN)) {
    const name = (m[1] ?? '').toLowerCase();
    const close = TAG_CLOSE[name];
    if (close === undefined || unclosed.has(name)) continue;
    const from = m.index + m[0].length;
    close.lastIndex = from;
    const end = close.exec(text);
    if (end === null) {
      unclosed.add(name);
      continue;
    }
    return text.slice(from, end.index).trim();
  }
  return undefined;
}
const JSON_FIELD = /"(?:parent_instruction|current_instruction|instruction)"\s*:\s*("(?:[^"\\]|\\.)*")/i;
/** Tried in order: "current instruction" beats "original instruction", which beats a bare "instruction". */
const HEADINGS = [
  /\b(parent|current|champion|best)\s+(instruction|prompt)\b(?!s)/i,
  /\b(base|basic|existing|original)\s+(instruction|prompt)\b(?!s)/i,
  /\binstruction\b(?!s)/i,
];
const NOT_PARENT = /\b(previous|prior|other|new|proposed|earlier|improved|better|candidate|your)\s+(instruction|prompt)/i;
const HEADING_START = /^\s*(#{1,6}\s|\*\*|\[|<|---|===)/;
const FENCE = /^\s*(```|""")/;

function stripQuotes(text: string): string {
  const t = text.trim();
  const pairs: Array<[string, string]> = [['"', '"'], ["'", "'"], ['\u201c', '\u201d'], ['`', '`']];
  for (const [open, close] of pairs) {
    if (t.length >= 2 && t.startsWith(open) && t.endsWith(close)) return t.slice(open.length, -close.length).trim();
  }
  return t;
}

function cleanBlock(lines: string[]): string {
  return stripQuotes(lines.map((l) => l.replace(/^\s*>\s?/, '')).join('\n').trim());
}

/** The block that follows a heading line: fenced, or the lines up to a blank line or next heading. */
function blockAfter(lines: string[], headingIndex: number, keywordEnd: number): string {
  const heading = lines[headingIndex] ?? '';
  const colon = heading.indexOf(':', keywordEnd);
  const rest = colon >= 0 ? heading.slice(colon + 1).replace(/\*\*\s*$/, '').trim() : '';
  const body: string[] = [];
  let i = headingIndex + 1;
  if (rest.length > 0 && !FENCE.test(rest)) {
    body.push(rest);
  } else {
    while (i < lines.length && (lines[i] ?? '').trim() === '') i++;
    if (rest.length === 0 && /^\s*>/.test(lines[i] ?? '')) {
      // A blockquote is the instruction; what follows it (a score line, say) is not.
      for (; i < lines.length && /^\s*>/.test(lines[i] ?? ''); i++) body.push(lines[i] ?? '');
      return cleanBlock(body);
    }
    const first = lines[i] ?? (rest.length > 0 ? rest : '');
    const fence = (rest.length > 0 ? rest : first).match(FENCE)?.[1];
    if (fence) {
      const start = rest.length > 0 ? headingIndex + 1 : i + 1;
      for (let j = start; j < lines.length && !(lines[j] ?? '').trim().startsWith(fence); j++) body.push(lines[j] ?? '');
      return cleanBlock(body);
    }
  }
  for (; i < lines.length; i++) {
    const line = lines[i] ?? '';
    if (line.trim() === '' || (HEADING_START.test(line) && body.length > 0) || FENCE.test(line)) break;
    body.push(line);
  }
  return cleanBlock(body);
}

function plausible(instruction: string): boolean {
  return instruction.length >= 10 && /[a-z]/i.test(instruction);
}

export function findParentInstruction(text: string): string | undefined {
  const tagged = taggedText(text);
  // A tag says where the instruction is: any text with a letter is one ("Extract." is a real, short
  // instruction). The length floor is for the heuristics below, which could grab a stray line.
  if (tagged && /[a-z]/i.test(tagged)) return stripQuotes(tagged);
  const field = text.match(JSON_FIELD)?.[1];
  if (field) {
    try {
      const parsed: unknown = JSON.parse(field);
      if (typeof parsed === 'string' && plausible(parsed)) return parsed.trim();
    } catch {
      // Not valid JSON after all: fall through to the headings.
    }
  }
  const lines = text.split(/\r?\n/);
  for (const pattern of HEADINGS) {
    for (const [idx, line] of lines.entries()) {
      const m = line.match(pattern);
      if (!m || NOT_PARENT.test(line)) continue;
      const keywordEnd = (m.index ?? 0) + m[0].length;
      const colon = line.indexOf(':', keywordEnd);
      const headingLike = HEADING_START.test(line) || (colon >= 0 && colon - keywordEnd < 60) || line.trim().length < 60;
      if (!headingLike) continue;
      const block = blockAfter(lines, idx, keywordEnd);
      // Under a real heading (markdown, bold, a tag) a short text is still the instruction ("Extract.").
      if (plausible(block) || (HEADING_START.test(line) && /[a-z]/i.test(block))) return block;
    }
  }
  return undefined;
}

// ---- observed rollouts --------------------------------------------------------------------------

interface Occurrence {
  start: number;
  end: number;
  example: BankingExample;
}

function findOccurrences(text: string, task: BankingTask): Occurrence[] {
  const found: Occurrence[] = [];
  for (const example of task.examples) {
    for (let at = text.indexOf(example.text); at >= 0; at = text.indexOf(example.text, at + 1)) {
      found.push({ start: at, end: at + example.text.length, example });
    }
  }
  // A query can contain a shorter query ("Hi, I lost my card." contains "I lost my card."): keep the longer.
  found.sort((a, b) => a.start - b.start || b.end - a.end);
  const kept: Occurrence[] = [];
  for (const occ of found) {
    const last = kept[kept.length - 1];
    if (last && occ.start < last.end) continue;
    kept.push(occ);
  }
  return kept;
}

const OUTPUT_LABEL =
  /(?:^|[^A-Za-z_])(?:model[ _]output|output|answer|prediction|predicted(?:[ _]label)?|response|completion|assistant)\s*"?\s*[:=]\s*/gi;
const REWARD = /\b(?:reward|score)\b\s*"?\s*(?:[:=]|of|was|is)?\s*(-?\d+(?:\.\d+)?)/gi;
const BLANK_LINE = /\n[ \t]*\n/;

function readValue(text: string): string {
  const quoted = text.match(/^"(?:[^"\\]|\\.)*"/)?.[0];
  if (quoted) {
    try {
      const parsed: unknown = JSON.parse(quoted);
      if (typeof parsed === 'string') return parsed;
    } catch {
      // Fall back to the raw line.
    }
  }
  const line = (text.split('\n')[0] ?? '').split(/\s+\|\s+|\s*[,;(]\s*(?:reward|score)\b/i)[0] ?? '';
  return stripQuotes(line.replace(/[,}\]]+\s*$/, ''));
}

const NO_OUTPUT = /^\(?(no output|none|null|empty)\)?$/i;

/** The value after an output label: on the same line, or on the next (indented) line. */
function firstOutput(region: string): string | undefined {
  OUTPUT_LABEL.lastIndex = 0;
  const m = OUTPUT_LABEL.exec(region);
  if (!m) return undefined;
  let rest = region.slice(m.index + m[0].length);
  const sameLine = rest.split('\n')[0] ?? '';
  if (sameLine.trim() === '') rest = rest.slice(sameLine.length).replace(/^\n/, '').replace(/^[ \t]+/, '');
  const value = readValue(rest).trim();
  return value === '' || NO_OUTPUT.test(value) ? undefined : value;
}

function rewards(region: string): number[] {
  return [...region.matchAll(REWARD)].map((m) => Number(m[1])).filter((n) => Number.isFinite(n));
}

/**
 * Outputs follow their input; rewards may come before it (a "reward 0.0" header) or after it. The
 * layout is decided once for the whole prompt, by where rewards sit more often, since a builder
 * formats every rollout the same way.
 */
export function findObservedRollouts(text: string, task: BankingTask): ObservedRollout[] {
  const occurrences = findOccurrences(text, task);
  const regions = occurrences.map((occ, i) => {
    const nextStart = occurrences[i + 1]?.start ?? text.length;
    const afterFull = text.slice(occ.end, nextStart);
    const after = afterFull.split(BLANK_LINE)[0] ?? '';
    const prevEnd = occurrences[i - 1]?.end ?? 0;
    const beforeFull = text.slice(Math.max(prevEnd, occ.start - 400), occ.start);
    const before = beforeFull.split(BLANK_LINE).pop() ?? '';
    return { occ, after, before };
  });
  const afterCount = regions.filter((r) => rewards(r.after).length > 0).length;
  const beforeCount = regions.filter((r) => rewards(r.before).length > 0).length;
  const rewardBefore = beforeCount > afterCount;
  return regions.map(({ occ, after, before }) => ({
    example: occ.example,
    output: firstOutput(after),
    reward: rewardBefore ? rewards(before).pop() : rewards(after)[0],
  }));
}

// ---- tip, count, limit --------------------------------------------------------------------------

const TIP_KINDS: Array<[ProposerTip, RegExp]> = [
  ['persona', /\bpersona\b|\byou are an?\b|\b(expert )?role\b/i],
  ['high_stakes', /\bhigh[- _]?stakes\b|\bcostly\b|\bdouble[- ]checks?\b/i],
  ['description', /\b(descriptive|description|detailed|informative|thorough|explanatory|describe)\b/i],
  ['simple', /\b(simple|concise|short|brief|plain)\b/i],
  ['creative', /\b(creative|inventive|unexpected|novel)\b/i],
];
const TIP_PHRASES: Array<[ProposerTip, RegExp]> = [
  ['persona', /\binclude a persona\b/i],
  ['high_stakes', /\bhigh[- ]stakes scenario\b/i],
  ['simple', /\bclear and concise\b/i],
  ['description', /\binformative and descriptive\b/i],
  ['creative', /\bbe creative\b/i],
];

export function findTip(text: string): ProposerTip {
  const lines = text.split(/\r?\n/);
  const idx = lines.findIndex((l) => /\btips?\b/i.test(l));
  if (idx >= 0) {
    const tipText = `${lines[idx] ?? ''}\n${lines.slice(idx + 1).find((l) => l.trim() !== '') ?? ''}`;
    for (const [tip, re] of TIP_KINDS) if (re.test(tipText)) return tip;
  }
  for (const [tip, re] of TIP_PHRASES) if (re.test(text)) return tip;
  return 'none';
}

const NUMBER_WORDS: Record<string, number> = { one: 1, two: 2, three: 3, four: 4, five: 5, six: 6, seven: 7, eight: 8, nine: 9, ten: 10 };
const NUM = '(\\d+|one|two|three|four|five|six|seven|eight|nine|ten)';
const COUNT_PATTERNS = [
  new RegExp(`\\b(?:propose|generate|write|return|give|produce|create|suggest|output|provide)\\s+(?:me\\s+)?(?:exactly\\s+|up to\\s+)?${NUM}\\s+(?:[\\w,-]+\\s+){0,3}?instructions?\\b`, 'i'),
  new RegExp(`\\b${NUM}\\s+(?:new|different|candidate|alternative|improved|distinct),?\\s+(?:[\\w,-]+\\s+){0,2}?instructions\\b`, 'i'),
  new RegExp(`\\b${NUM}\\s+instructions\\b`, 'i'),
];

export function findRequestedCount(text: string): number {
  for (const re of COUNT_PATTERNS) {
    const word = text.match(re)?.[1]?.toLowerCase();
    if (!word) continue;
    const n = NUMBER_WORDS[word] ?? Number(word);
    if (Number.isInteger(n) && n >= 1) return Math.min(MAX_REQUESTED_COUNT, n);
  }
  return DEFAULT_REQUESTED_COUNT;
}

const CHAR_LIMIT =
  /\b(?:at most|no more than|under|fewer than|maximum(?: of)?|max(?:imum)?|up to|limit(?: of)?)\s+(\d[\d,]*)\s*(?:characters|chars)\b/i;

export function findCharLimit(text: string): number | undefined {
  const raw = text.match(CHAR_LIMIT)?.[1];
  const n = raw ? Number(raw.replace(/,/g, '')) : NaN;
  return Number.isFinite(n) && n >= 50 ? n : undefined;
}

export function readProposerPrompt(text: string, task: BankingTask): ProposerPromptReading {
  const parent = findParentInstruction(text);
  return {
    parentInstruction: parent ?? task.baselineInstruction,
    parentFound: parent !== undefined,
    rollouts: findObservedRollouts(text, task),
    tip: findTip(text),
    requestedCount: findRequestedCount(text),
    charLimit: findCharLimit(text),
  };
}
