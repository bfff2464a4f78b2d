import type { BankingTask, ConfusablePair } from './bankingTask.js';
import { containsWord, findWord, nearestGap, splitSentences, type Span } from './textMatch.js';

/**
 * What the simulated policy model "understands" from an instruction. Every effect the simulator has
 * goes through these features, so a test or a reader can see exactly why one instruction scores
 * better than another (docs/simulator.md lists the rules).
 */
export type FormatStrength = 'none' | 'loose' | 'strict';
/**
 * none: the pair is not addressed. partial: both labels in one sentence without telling cues apart
 * (or cue words contrasted without the labels). full: cue words tied to the right label.
 * inverted: cue words tied to the wrong label, which is worse than saying nothing.
 */
export type PairRuleStrength = 'none' | 'partial' | 'full' | 'inverted';

export interface PairRuleFeature {
  labels: readonly [string, string];
  strength: PairRuleStrength;
}

export interface InstructionFeatures {
  chars: number;
  /** Task labels that appear verbatim (whole word) anywhere in the instruction. */
  labelsListed: string[];
  labelCoverage: number;
  format: FormatStrength;
  /** Asks for reasoning or an explanation, which pulls answers into sentences. */
  asksForExplanation: boolean;
  pairRules: PairRuleFeature[];
  persona: boolean;
  highStakes: boolean;
}

/** A sentence naming more labels than this is a list, not a rule about one pair. */
const MAX_LABELS_IN_RULE = 4;

const STRICT_FORMAT = [
  /\b(only|just|solely)\b[^.\n]{0,40}\b(label|intent|category|name)\b/i,
  /\b(label|intent|category)\b[^.\n]{0,30}\b(only|alone|and nothing else)\b/i,
  /\bnothing else\b/i,
  /\bno (other |extra |additional )?(text|explanation|words|punctuation|sentences?)\b/i,
  /\bwithout (any )?(other |extra )?(text|explanation|punctuation|commentary)\b/i,
];
const LOOSE_FORMAT = /\b(answer|respond|reply|output|return)\b[^.\n]{0,40}\b(label|intent name|category name)\b/i;
const EXPLAIN = /\b(explain|justify)\b|step[- ]by[- ]step|\b(show|give|include) (your |the )?reasoning\b|\bthink (it )?through\b/gi;
const NEGATION_BEFORE = /\b(not|don't|do not|never|no need to|without)\s+(\w+\s+){0,2}$/i;
const PERSONA = /\byou are (a|an|the)\b|\bact as\b/i;
const HIGH_STAKES = /\bhigh[- ]stakes\b|\b(critical|crucial|at risk|costly|livelihoods?|serious consequences)\b/i;
const CONTRAST = /\b(vs\.?|versus|rather than|instead of|not the same|differ|distinguish|confuse)\b/i;

/**
 * What ends a clause: `;`, a dash between blanks, `whereas`/`while`/`but`/`otherwise` after blanks
 * (and a comma), `, and`. The clauses are those `split(/;|\s[-\u2013\u2014]\s|,?\s+(?:whereas|while|but|otherwise)\s+|,\s+and\s+/i)`
 * gave, found in linear time: that pattern tried `\s+` from every blank of a run to its end (the
 * square of the run: 160,000 blanks in a system text a proxy caller sent held the event loop 9 s).
 * The blanks before a keyword are only read from the start of their run (the lookbehind); the one
 * place a search starts inside a run, right after a dash's blank, is tried on its own (KEYWORD_HERE).
 */
const CLAUSE_BREAK = /;|\s[-\u2013\u2014]\s|,?(?<!\s)\s+(?:whereas|while|but|otherwise)\s+|,\s+and\s+/gi;
const KEYWORD_HERE = /\s+(?:whereas|while|but|otherwise)\s+/iy;
const BLANK = /\s/;

export function splitClauses(sentence: string): string[] {
  const clauses: string[] = [];
  let from = 0;
  let start = 0;
  while (from < sentence.length) {
    let end = -1;
    let at = -1;
    if (from > 0 && BLANK.test(sentence.charAt(from - 1))) {
      KEYWORD_HERE.lastIndex = from;
      if (KEYWORD_HERE.test(sentence)) [at, end] = [from, KEYWORD_HERE.lastIndex];
    }
    if (at < 0) {
      CLAUSE_BREAK.lastIndex = from;
      const m = CLAUSE_BREAK.exec(sentence);
      if (m === null) break;
      [at, end] = [m.index, m.index + m[0].length];
    }
    clauses.push(sentence.slice(start, at));
    start = from = end;
  }
  clauses.push(sentence.slice(start));
  return clauses.filter((c) => c.trim().length > 0);
}

/** Exported so edits remove exactly what the policy would have read as a format rule. */
export function detectFormat(instruction: string): FormatStrength {
  if (STRICT_FORMAT.some((re) => re.test(instruction))) return 'strict';
  return LOOSE_FORMAT.test(instruction) ? 'loose' : 'none';
}

export function detectExplanation(instruction: string): boolean {
  for (const m of instruction.matchAll(EXPLAIN)) {
    const before = instruction.slice(Math.max(0, m.index - 30), m.index);
    if (!NEGATION_BEFORE.test(before)) return true;
  }
  return false;
}

export const hasPersona = (text: string): boolean => PERSONA.test(text);
export const hasHighStakes = (text: string): boolean => HIGH_STAKES.test(text);

function cueSpans(sentence: string, cues: readonly string[]): Span[] {
  return cues.flatMap((cue) => findWord(sentence, cue));
}

function judgeSentence(sentence: string, pair: ConfusablePair, labelsInSentence: number): PairRuleStrength {
  const [labelA, labelB] = pair.labels;
  const spansA = findWord(sentence, labelA);
  const spansB = findWord(sentence, labelB);
  const cuesA = cueSpans(sentence, pair.cues[0]);
  const cuesB = cueSpans(sentence, pair.cues[1]);
  if (spansA.length === 0 || spansB.length === 0) {
    // Cue words of both sides contrasted, without naming the labels: it helps a little.
    return cuesA.length > 0 && cuesB.length > 0 && CONTRAST.test(sentence) ? 'partial' : 'none';
  }
  if (labelsInSentence > MAX_LABELS_IN_RULE) return 'none';
  // A cue belongs to the label of its clause ("use card_stolen when stolen; use card_lost when lost");
  // in a clause naming both labels, to the nearer one. That is how a reader ties them together.
  let right = 0;
  let wrong = 0;
  for (const clause of splitClauses(sentence)) {
    const inA = findWord(clause, labelA);
    const inB = findWord(clause, labelB);
    if (inA.length === 0 && inB.length === 0) continue;
    const tally = (cues: Span[], own: Span[], other: Span[]): void => {
      for (const cue of cues) {
        const dOwn = nearestGap(cue, own);
        const dOther = nearestGap(cue, other);
        if (dOwn < dOther) right++;
        else if (dOther < dOwn) wrong++;
      }
    };
    tally(cueSpans(clause, pair.cues[0]), inA, inB);
    tally(cueSpans(clause, pair.cues[1]), inB, inA);
  }
  if (right > wrong) return 'full';
  if (wrong > right) return 'inverted';
  return 'partial';
}

const RANK: Record<PairRuleStrength, number> = { none: 0, partial: 1, full: 2, inverted: 3 };

function combine(found: PairRuleStrength[]): PairRuleStrength {
  const has = (s: PairRuleStrength): boolean => found.includes(s);
  // A correct rule and a contradicting one leave the model unsure: partial.
  if (has('full') && has('inverted')) return 'partial';
  return found.reduce<PairRuleStrength>((best, s) => (RANK[s] > RANK[best] ? s : best), 'none');
}

export function instructionFeatures(instruction: string, task: BankingTask): InstructionFeatures {
  const labelsListed = task.intents.filter((label) => containsWord(instruction, label));
  const sentences = splitSentences(instruction).map((text) => ({
    text,
    labelCount: task.intents.filter((label) => containsWord(text, label)).length,
  }));
  const pairRules = task.pairs.map((pair) => ({
    labels: pair.labels,
    strength: combine(sentences.map((s) => judgeSentence(s.text, pair, s.labelCount))),
  }));
  return {
    chars: instruction.length,
    labelsListed,
    labelCoverage: task.intents.length === 0 ? 0 : labelsListed.length / task.intents.length,
    format: detectFormat(instruction),
    asksForExplanation: detectExplanation(instruction),
    pairRules,
    persona: hasPersona(instruction),
    highStakes: hasHighStakes(instruction),
  };
}
