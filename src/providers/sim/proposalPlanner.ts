import type { Rng } from '../../shared/rng.js';
import type { BankingTask, ConfusablePair } from './bankingTask.js';
import { instructionFeatures } from './instructionFeatures.js';
import {
  addDescription,
  addFormatRule,
  addHighStakes,
  addLabelList,
  addPersona,
  askForExplanation,
  dropFormatRule,
  fromLines,
  restorePlaceholders,
  rephraseOpening,
  setPairRule,
  simplify,
  toLines,
  truncateLabelList,
  type Lines,
} from './instructionEdits.js';
import { diagnose, type ProposerEvidence } from './proposerEvidence.js';
import type { ProposerPromptReading } from './proposerPromptReader.js';

/**
 * How the simulated proposer turns what it read into child instructions. The probabilities are the
 * simulator's model of a decent LLM: it usually fixes what the shown failures point at, sometimes
 * makes a helpful change without evidence, follows the tip, and now and then makes things worse.
 */
export const PROPOSER_RATES = {
  /** Add an output-format rule: when a wrapped answer was seen / without such evidence. */
  formatWithEvidence: 0.9,
  formatWithout: 0.35,
  /** Add the label list: when an invented label was seen / without such evidence. */
  labelsWithEvidence: 0.9,
  labelsWithout: 0.35,
  /** Write a rule for a pair a failure revealed (at most `maxRulesPerChild` per child). */
  pairRule: 0.85,
  maxRulesPerChild: 3,
  /** Follow the tip. */
  tip: 0.9,
  /** One harmful edit (drop the format rule, cut the label list, invert a rule, ask for reasoning). */
  badEdit: 0.2,
} as const;

export interface PlannerOptions {
  badEditRate?: number;
}

interface ChildState {
  lines: Lines;
}

function chance(rng: Rng, p: number): boolean {
  return rng.next() < p;
}

function applyFixes(state: ChildState, parent: string, task: BankingTask, ev: ProposerEvidence, rng: Rng): void {
  const f = instructionFeatures(parent, task);
  if (f.format !== 'strict' || f.asksForExplanation) {
    if (chance(rng, ev.wrapped > 0 ? PROPOSER_RATES.formatWithEvidence : PROPOSER_RATES.formatWithout)) {
      state.lines = addFormatRule(state.lines, rng);
    }
  }
  if (f.labelCoverage < 1) {
    if (chance(rng, ev.invented > 0 ? PROPOSER_RATES.labelsWithEvidence : PROPOSER_RATES.labelsWithout)) {
      state.lines = addLabelList(state.lines, task, rng);
    }
  }
  let rules = 0;
  for (const pair of ev.revealedPairs) {
    if (rules >= PROPOSER_RATES.maxRulesPerChild) break;
    const strength = f.pairRules.find((r) => r.labels === pair.labels)?.strength;
    if (strength !== 'full' && chance(rng, PROPOSER_RATES.pairRule)) {
      state.lines = setPairRule(state.lines, task, pair, rng);
      rules++;
    }
  }
}

function applyTip(state: ChildState, reading: ProposerPromptReading, task: BankingTask, rng: Rng): void {
  if (!chance(rng, PROPOSER_RATES.tip)) return;
  switch (reading.tip) {
    case 'persona':
      state.lines = addPersona(state.lines, rng);
      break;
    case 'high_stakes':
      state.lines = addHighStakes(state.lines);
      break;
    case 'description':
      state.lines = addDescription(state.lines);
      break;
    case 'simple':
      state.lines = simplify(state.lines, task);
      break;
    case 'creative':
      state.lines = rephraseOpening(state.lines, task, rng);
      break;
    case 'none':
      break;
  }
}

function applyMistake(state: ChildState, task: BankingTask, revealed: readonly ConfusablePair[], rng: Rng): void {
  const text = fromLines(state.lines);
  const f = instructionFeatures(text, task);
  const options: Array<() => Lines> = [() => askForExplanation(state.lines)];
  if (f.format !== 'none') options.push(() => dropFormatRule(state.lines));
  if (f.labelCoverage > 0.6) options.push(() => truncateLabelList(state.lines, task));
  const target = revealed[Math.floor(rng.next() * Math.max(1, revealed.length))];
  if (target) options.push(() => setPairRule(state.lines, task, target, rng, true));
  const chosen = options[Math.floor(rng.next() * options.length)];
  if (chosen) state.lines = chosen();
}

/** Makes sure a child differs from its parent and its siblings: the next useful change, else a reworded one. */
function ensureNew(state: ChildState, known: (text: string) => boolean, task: BankingTask, ev: ProposerEvidence, rng: Rng): void {
  const isNew = (): boolean => !known(fromLines(state.lines));
  const features = () => instructionFeatures(fromLines(state.lines), task);
  const steps: Array<() => Lines | undefined> = [
    () => (features().format === 'strict' ? undefined : addFormatRule(state.lines, rng)),
    () => (features().labelCoverage === 1 ? undefined : addLabelList(state.lines, task, rng)),
    ...ev.revealedPairs.map((pair) => () => {
      const strength = features().pairRules.find((r) => r.labels === pair.labels)?.strength;
      return strength === 'full' ? undefined : setPairRule(state.lines, task, pair, rng);
    }),
    () => rephraseOpening(state.lines, task, rng),
    () => rephraseOpening(state.lines, task, rng),
    () => addPersona(state.lines, rng),
    () => addHighStakes(state.lines),
    () => addDescription(state.lines),
  ];
  for (const step of steps) {
    if (isNew()) return;
    const next = step();
    if (next) state.lines = next;
  }
}

/** Lowercase words only: how the optimizer's duplicate check compares instructions, roughly. */
function comparable(text: string): string {
  return text
    .replace(/^\s*>\s?/gm, '')
    .toLowerCase()
    .replace(/[\p{P}\p{S}]+/gu, ' ')
    .replace(/\s+/g, ' ')
    .trim();
}

/**
 * Instructions quoted in the prompt (the parent and the history): blockquotes, fenced blocks and
 * tagged blocks, which is how prompt builders set instructions apart from their own text.
 */
function quotedInstructions(prompt: string): string[] {
  const blocks: string[] = [];
  let current: string[] = [];
  for (const line of prompt.split(/\r?\n/)) {
    if (/^\s*>/.test(line)) {
      current.push(line);
    } else if (current.length > 0) {
      blocks.push(current.join('\n'));
      current = [];
    }
  }
  if (current.length > 0) blocks.push(current.join('\n'));
  for (const body of fencedAndTagged(prompt)) if (body) blocks.push(body);
  return blocks;
}

const FENCE = '```';
const WORD = /\w/;

/**
 * The bodies `prompt.matchAll(/```[^\n]*\n([\s\S]*?)```|<(\w*instruction\w*)>([\s\S]*?)<\/\2>/gi)` found,
 * found in linear time (n log n for tags). That pattern read each fence's line to its end again from
 * every fence on it, each tag's name again from every place `instruction` occurs in it, and the
 * rest of the prompt again after every unclosed tag: 160,000 characters of backticks held the event
 * loop 20 s, and the prompt quotes texts proxy callers sent (a discovered module's text).
 */
export function fencedAndTagged(prompt: string): string[] {
  const bodies: string[] = [];
  const closes = closingTags(prompt);
  let fences = true; // false once a fence can no longer be closed: none later can either
  for (let p = 0; p < prompt.length;) {
    if (fences && prompt.startsWith(FENCE, p)) {
      // The fence's line ends at the first newline; its body at the first fence after that.
      const newline = prompt.indexOf('\n', p + FENCE.length);
      const close = newline < 0 ? -1 : prompt.indexOf(FENCE, newline + 1);
      if (close >= 0) {
        bodies.push(prompt.slice(newline + 1, close));
        p = close + FENCE.length;
        continue;
      }
      fences = false;
    } else if (prompt.charCodeAt(p) === 0x3c /* < */) {
      // The name is the whole run of word characters (`>` must follow it) and holds `instruction`.
      const end = wordRunEnd(prompt, p + 1);
      const name = prompt.slice(p + 1, end).toLowerCase();
      if (prompt.charAt(end) === '>' && name.includes('instruction')) {
        const close = firstAtOrAfter(closes.get(name), end + 1);
        if (close !== undefined) {
          bodies.push(prompt.slice(end + 1, close));
          p = close + name.length + 3;
          continue;
        }
      }
      // A name's run is read once: no `<` inside it can start another tag.
      p = Math.max(p + 1, end);
      continue;
    }
    p++;
  }
  return bodies;
}

function wordRunEnd(text: string, from: number): number {
  let i = from;
  while (i < text.length && WORD.test(text.charAt(i))) i++;
  return i;
}

/** Where each closing tag `</name>` starts, by lowercase name, in order. */
function closingTags(text: string): Map<string, number[]> {
  const closes = new Map<string, number[]>();
  for (let at = text.indexOf('</'); at >= 0; at = text.indexOf('</', at + 2)) {
    const end = wordRunEnd(text, at + 2);
    if (end === at + 2 || text.charAt(end) !== '>') continue;
    const name = text.slice(at + 2, end).toLowerCase();
    const list = closes.get(name);
    if (list === undefined) closes.set(name, [at]);
    else list.push(at);
  }
  return closes;
}

/** The first of the sorted `positions` at or after `from` (bisection). */
function firstAtOrAfter(positions: readonly number[] | undefined, from: number): number | undefined {
  if (positions === undefined) return undefined;
  let lo = 0;
  let hi = positions.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((positions[mid] ?? 0) < from) lo = mid + 1;
    else hi = mid;
  }
  return positions[lo];
}

/**
 * Proposes `reading.requestedCount` children of the parent. `childRng(j)` gives child j its own
 * random stream, so children differ from each other yet the whole proposal is reproducible.
 */
export function planProposals(
  reading: ProposerPromptReading,
  task: BankingTask,
  childRng: (index: number) => Rng,
  opts: PlannerOptions = {},
  /** The whole prompt: an instruction quoted in it (parent, history) is not new. */
  promptText = '',
): string[] {
  const badEditRate = opts.badEditRate ?? PROPOSER_RATES.badEdit;
  const parent = reading.parentInstruction;
  const ev = diagnose(reading.rollouts, task);
  const seen = new Set<string>([comparable(parent), ...quotedInstructions(promptText).map(comparable)]);
  const known = (text: string): boolean => seen.has(comparable(text));
  const children: string[] = [];
  for (let j = 0; j < reading.requestedCount; j++) {
    const rng = childRng(j);
    const state: ChildState = { lines: toLines(parent) };
    applyFixes(state, parent, task, ev, rng);
    applyTip(state, reading, task, rng);
    if (chance(rng, badEditRate)) applyMistake(state, task, ev.revealedPairs, rng);
    if (reading.charLimit !== undefined && fromLines(state.lines).length > reading.charLimit) {
      state.lines = simplify(state.lines, task);
    }
    ensureNew(state, known, task, ev, rng);
    state.lines = restorePlaceholders(state.lines, parent);
    const text = fromLines(state.lines);
    seen.add(comparable(text));
    children.push(text);
  }
  return children;
}
