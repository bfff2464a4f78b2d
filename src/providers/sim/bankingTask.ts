import {
  BANKING_INTENTS,
  CONFUSABLE_PAIRS,
  QUERY_CLOSINGS,
  QUERY_OPENINGS,
  type ConfusablePair,
} from './bankingData.js';

export type { ConfusablePair } from './bankingData.js';

export interface BankingExample {
  seed: number;
  text: string;
  label: string;
}

/** The simulated task: banking intent classification, scored by exact label match. */
export interface BankingTask {
  readonly name: string;
  readonly intents: readonly string[];
  readonly examples: readonly BankingExample[];
  readonly pairs: readonly ConfusablePair[];
  /** Weak but reasonable: no label list, no output format. */
  readonly baselineInstruction: string;
  /** Seed s is the query examples[s mod length] (negative seeds wrap too). */
  example(seed: number): BankingExample;
  userMessage(seed: number): string;
  /** 1 when the normalized output equals the seed's label. */
  score(seed: number, output: string): 0 | 1;
  /** The example whose text is the given message, or is contained in it (longest match wins). */
  findExample(message: string): BankingExample | undefined;
  /** The name a model invents for an intent when the instruction does not list the labels. */
  inventedLabel(label: string): string;
  /** The confusable pair an intent belongs to, if any. */
  pairOf(label: string): ConfusablePair | undefined;
}

const VARIANTS_PER_INTENT = 15;
const QUESTION = /^(how|why|when|where|what|is|can|do|does|has)\b|, (how|can|what)\b/i;
const KEEP_CAPITAL = /^(I\b|I'|[A-Z]{2,}|Apple\b)/;

/**
 * Lowercases, trims and strips what a grader would forgive: wrapping quotes, backticks, markdown
 * bold, a final period, and spaces or hyphens instead of underscores ("Card lost" == "card_lost").
 * A sentence around the label is not forgiven: "The intent is card_lost." stays wrong.
 */
export function normalizeLabel(output: string): string {
  let s = output.trim().toLowerCase();
  s = s.replace(/^[\s"'`*]+|[\s"'`*.!]+$/g, '');
  return s.replace(/[\s-]+/g, '_');
}

function composeQuery(phrasing: string, opening: string, closing: string): string {
  const mark = QUESTION.test(phrasing) ? '?' : '.';
  const body = opening && !KEEP_CAPITAL.test(phrasing) ? phrasing.charAt(0).toLowerCase() + phrasing.slice(1) : phrasing;
  return `${opening}${body}${mark}${closing}`;
}

/**
 * Builds the examples in a fixed order: example i is intent (i mod 20), so any run of 20
 * consecutive seeds covers every intent once. Variant v of an intent combines phrasing (v mod 6)
 * with an opening and a closing chosen so that all 15 variants differ.
 */
function buildExamples(): BankingExample[] {
  const examples: BankingExample[] = [];
  const intentCount = BANKING_INTENTS.length;
  for (let v = 0; v < VARIANTS_PER_INTENT; v++) {
    BANKING_INTENTS.forEach((intent, intentIndex) => {
      const phrasingCount = intent.phrasings.length;
      const p = v % phrasingCount;
      const round = Math.floor(v / phrasingCount);
      const opening = QUERY_OPENINGS[(p + intentIndex + round * 2) % QUERY_OPENINGS.length] ?? '';
      const closing = QUERY_CLOSINGS[(p * 2 + intentIndex + round + 1) % QUERY_CLOSINGS.length] ?? '';
      const phrasing = intent.phrasings[p] ?? intent.label;
      examples.push({ seed: v * intentCount + intentIndex, text: composeQuery(phrasing, opening, closing), label: intent.label });
    });
  }
  return examples;
}

export function createBankingTask(): BankingTask {
  const examples = buildExamples();
  const intents = BANKING_INTENTS.map((i) => i.label);
  const byText = new Map(examples.map((e) => [e.text, e]));
  const invented = new Map(BANKING_INTENTS.map((i) => [i.label, i.inventedLabel]));
  const pairByLabel = new Map<string, ConfusablePair>();
  for (const pair of CONFUSABLE_PAIRS) for (const label of pair.labels) pairByLabel.set(label, pair);
  // Longest first, so a query that contains a shorter query is matched as itself.
  const byLength = [...examples].sort((a, b) => b.text.length - a.text.length);

  const example = (seed: number): BankingExample => {
    const n = examples.length;
    const idx = ((Math.trunc(seed) % n) + n) % n;
    const e = examples[idx] as BankingExample;
    return { seed, text: e.text, label: e.label };
  };

  return {
    name: 'banking-intents (simulated)',
    intents,
    examples,
    pairs: CONFUSABLE_PAIRS,
    baselineInstruction: "Classify the customer's banking query into an intent.",
    example,
    userMessage: (seed) => example(seed).text,
    score: (seed, output) => (normalizeLabel(output) === example(seed).label ? 1 : 0),
    findExample(message) {
      const exact = byText.get(message.trim());
      if (exact) return exact;
      return byLength.find((e) => message.includes(e.text));
    },
    inventedLabel: (label) => invented.get(label) ?? label,
    pairOf: (label) => pairByLabel.get(label),
  };
}
