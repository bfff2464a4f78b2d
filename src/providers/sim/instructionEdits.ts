import type { Rng } from '../../shared/rng.js';
import type { BankingTask, ConfusablePair } from './bankingTask.js';
import { detectExplanation, detectFormat, hasHighStakes, instructionFeatures } from './instructionFeatures.js';
import { placeholderNames } from '../../optimizer/core/templates.js';
import { containsWord, splitSentences } from './textMatch.js';

/**
 * Edits the simulated proposer makes to an instruction, each the kind of change an LLM proposer
 * writes. They work on lines, so they compose, and they only add, replace or remove whole lines or
 * sentences: whatever the parent said that they do not touch is kept word for word.
 */
export type Lines = string[];

export function toLines(instruction: string): Lines {
  return instruction.split('\n').map((l) => l.trim()).filter((l) => l.length > 0);
}

export function fromLines(lines: Lines): string {
  return lines.join('\n');
}

function pick<T>(items: readonly T[], rng: Rng): T {
  return items[Math.floor(rng.next() * items.length) % items.length] as T;
}

const labelCount = (line: string, task: BankingTask): number => task.intents.filter((l) => containsWord(line, l)).length;
const isLabelList = (line: string, task: BankingTask): boolean => labelCount(line, task) > 4;

function isPairRule(line: string, pair: ConfusablePair, task: BankingTask): boolean {
  return containsWord(line, pair.labels[0]) && containsWord(line, pair.labels[1]) && !isLabelList(line, task);
}

const isFormatSentence = (s: string): boolean => detectFormat(s) !== 'none';
const PERSONA_LINE = /^(you are|act as)\b/i;
const DESCRIPTION_LINE = /^customers write\b/i;

/** Removes the sentences `matches` accepts, keeping the rest of each line. */
function removeSentences(lines: Lines, matches: (sentence: string) => boolean): Lines {
  return lines
    .map((line) => splitSentences(line).filter((s) => !matches(s)).join(' '))
    .filter((l) => l.length > 0);
}

export function addLabelList(lines: Lines, task: BankingTask, rng: Rng): Lines {
  const opener = pick(['Possible intents:', 'Use exactly one of these intent labels:', 'The valid labels are:'], rng);
  const list = `${opener} ${task.intents.join(', ')}.`;
  const at = lines.findIndex((l) => isLabelList(l, task));
  if (at >= 0) return lines.map((l, i) => (i === at ? list : l));
  return [...lines.slice(0, 1), list, ...lines.slice(1)];
}

export function addFormatRule(lines: Lines, rng: Rng): Lines {
  const rule = pick(
    [
      'Answer with only the intent label, nothing else.',
      'Respond with just the label: no explanation, no punctuation.',
      'Output the label only, exactly as written.',
    ],
    rng,
  );
  return [...removeSentences(lines, detectExplanation), rule];
}

function cueList(cues: readonly string[], rng: Rng): string {
  const chosen = cues.slice(0, 2 + Math.floor(rng.next() * 2));
  return chosen.length <= 1 ? (chosen[0] ?? '') : `${chosen.slice(0, -1).join(', ')} or ${chosen[chosen.length - 1]}`;
}

/** A disambiguation rule; `inverted` ties each side's cues to the other label (a plausible-looking mistake). */
export function pairRule(pair: ConfusablePair, rng: Rng, inverted = false): string {
  const [a, b] = pair.labels;
  const cuesA = cueList(inverted ? pair.cues[1] : pair.cues[0], rng);
  const cuesB = cueList(inverted ? pair.cues[0] : pair.cues[1], rng);
  const templates = [
    `Use ${b} when the customer mentions ${cuesB}; use ${a} when they mention ${cuesA}.`,
    `If the query says ${cuesA}, the intent is ${a}; if it says ${cuesB}, it is ${b}.`,
    `Do not confuse ${a} with ${b}: ${a} means ${cuesA}, whereas ${b} means ${cuesB}.`,
  ];
  return pick(templates, rng);
}

export function setPairRule(lines: Lines, task: BankingTask, pair: ConfusablePair, rng: Rng, inverted = false): Lines {
  const rule = pairRule(pair, rng, inverted);
  const at = lines.findIndex((l) => isPairRule(l, pair, task));
  if (at >= 0) return lines.map((l, i) => (i === at ? rule : l));
  return [...lines, rule];
}

export function addPersona(lines: Lines, rng: Rng): Lines {
  const persona = pick(
    [
      'You are an experienced banking support agent who routes customer messages.',
      'You are a careful triage specialist at a retail bank.',
    ],
    rng,
  );
  return [persona, ...lines.filter((l) => !PERSONA_LINE.test(l))];
}

export function addHighStakes(lines: Lines): Lines {
  if (lines.some(hasHighStakes)) return lines;
  return [...lines, "Routing matters: a misrouted ticket can leave a customer's money at risk, so be precise."];
}

export function addDescription(lines: Lines): Lines {
  if (lines.some((l) => DESCRIPTION_LINE.test(l))) return lines;
  const description =
    'Customers write short, informal messages about cards, PINs, transfers, top-ups, refunds, fees, ATM withdrawals, ' +
    'direct debits and their account; pick the single intent that matches their main problem.';
  return [...lines.slice(0, 1), description, ...lines.slice(1)];
}

const OPENERS = [
  "Read the customer's message and decide which banking intent it expresses.",
  'Route each customer message to the banking intent it is about.',
  "Identify the customer's banking intent from their message.",
];

/** Rewords the opening line (when it is a plain sentence, not a list or a rule). */
export function rephraseOpening(lines: Lines, task: BankingTask, rng: Rng): Lines {
  const firstPlain = lines.findIndex((l) => labelCount(l, task) === 0 && !PERSONA_LINE.test(l));
  const current = firstPlain >= 0 ? lines[firstPlain] : undefined;
  const opener = pick(OPENERS.filter((o) => o !== current), rng);
  if (firstPlain < 0) return [opener, ...lines];
  return lines.map((l, i) => (i === firstPlain ? opener : l));
}

/**
 * Shorter: drops persona, stakes and description lines and writes correct pair rules compactly.
 * A rule that is wrong or vague is kept as it is: shortening does not fix it.
 */
export function simplify(lines: Lines, task: BankingTask): Lines {
  const kept = lines.filter((l) => !PERSONA_LINE.test(l) && !hasHighStakes(l) && !DESCRIPTION_LINE.test(l));
  return kept.map((line) => {
    const pair = task.pairs.find((p) => isPairRule(line, p, task));
    if (!pair) return line;
    const strength = instructionFeatures(line, task).pairRules.find((r) => r.labels === pair.labels)?.strength;
    if (strength !== 'full') return line;
    const [a, b] = pair.labels;
    return `${a}: ${pair.cues[0].slice(0, 2).join(', ')}; ${b}: ${pair.cues[1].slice(0, 2).join(', ')}.`;
  });
}

// ---- edits that make things worse (a real proposer makes them too) ------------------------------

export function dropFormatRule(lines: Lines): Lines {
  return removeSentences(lines, isFormatSentence);
}

export function truncateLabelList(lines: Lines, task: BankingTask): Lines {
  const at = lines.findIndex((l) => isLabelList(l, task));
  if (at < 0) return lines;
  const shortList = `Common intents include: ${task.intents.slice(0, 12).join(', ')}.`;
  return lines.map((l, i) => (i === at ? shortList : l));
}

export function askForExplanation(lines: Lines): Lines {
  return [...lines, 'Briefly explain your reasoning, then give the label.'];
}

/**
 * Puts back the parent's lines that held a placeholder the edits removed (a reworded opening, a
 * dropped sentence): a real proposer told to keep every {placeholder} does, and a child without one
 * is refused, so without this the simulated proposer's proposals for a templated module kept failing
 * (the README's programs example sent most of its proposals to a module whose children were refused).
 */
export function restorePlaceholders(lines: Lines, parent: string): Lines {
  const text = fromLines(lines);
  const missing = placeholderNames(parent).filter((name) => !text.includes(`{${name}}`));
  if (missing.length === 0) return lines;
  const back = toLines(parent).filter((l) => missing.some((name) => l.includes(`{${name}}`)) && !lines.includes(l));
  return [...lines, ...back];
}
