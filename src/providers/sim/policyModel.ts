import type { Rng } from '../../shared/rng.js';
import type { BankingExample, BankingTask } from './bankingTask.js';
import type { InstructionFeatures, PairRuleStrength, FormatStrength } from './instructionFeatures.js';

/**
 * The simulated policy model: how an instruction's features turn into error rates, and one sampled
 * answer. An answer goes through three independent steps, each a documented failure of real models:
 *   1. which intent it picks: it may confuse the two intents of a confusable pair (less so when the
 *      instruction has a rule for that pair) or drift to a random intent;
 *   2. what it calls that intent: without the label names it sometimes invents one ("lost_card");
 *   3. how it answers: without an output format it sometimes writes a sentence around the label.
 */
export const POLICY_RATES = {
  confusion: { none: 0.22, partial: 0.12, full: 0.04, inverted: 0.55 } satisfies Record<PairRuleStrength, number>,
  drift: 0.03,
  inventUnlisted: 0.25,
  wrap: { none: 0.2, loose: 0.08, strict: 0.01 } satisfies Record<FormatStrength, number>,
  wrapWhenExplaining: 0.6,
  /** Persona and high-stakes lines each shave this much off the drift: a tiny effect, as in practice. */
  toneBonus: 0.005,
  /** Past this length the instruction starts to dilute itself. */
  longAfterChars: 1500,
  longDriftPer1000Chars: 0.04,
  longDriftMax: 0.1,
  /** Temperature t multiplies every error rate by (1 + temperatureScale * t). */
  temperatureScale: 0.5,
} as const;

const MAX_RATE = 0.95;

export interface PolicyBehaviour {
  /** Probability of answering the pair partner instead of the right intent, per label. */
  confusion(label: string): number;
  drift: number;
  /** Probability of inventing a name for this intent (0 when the instruction lists it). */
  invent(label: string): number;
  wrap: number;
}

export function policyBehaviour(features: InstructionFeatures, task: BankingTask, temperature = 0): PolicyBehaviour {
  const t = Math.min(2, Math.max(0, temperature));
  const factor = 1 + POLICY_RATES.temperatureScale * t;
  const scale = (p: number): number => Math.min(MAX_RATE, Math.max(0, p * factor));
  const strengthByLabel = new Map<string, PairRuleStrength>();
  for (const rule of features.pairRules) for (const label of rule.labels) strengthByLabel.set(label, rule.strength);
  const overLength = Math.max(0, features.chars - POLICY_RATES.longAfterChars);
  const lengthDrift = Math.min(POLICY_RATES.longDriftMax, (overLength / 1000) * POLICY_RATES.longDriftPer1000Chars);
  const tone = (features.persona ? POLICY_RATES.toneBonus : 0) + (features.highStakes ? POLICY_RATES.toneBonus : 0);
  const listed = new Set(features.labelsListed);
  const wrapBase = features.asksForExplanation ? POLICY_RATES.wrapWhenExplaining : POLICY_RATES.wrap[features.format];
  return {
    confusion: (label) => {
      const strength = strengthByLabel.get(label);
      return strength && task.pairOf(label) ? scale(POLICY_RATES.confusion[strength]) : 0;
    },
    drift: scale(Math.max(0, POLICY_RATES.drift - tone) + lengthDrift),
    invent: (label) => (listed.has(label) ? 0 : scale(POLICY_RATES.inventUnlisted)),
    wrap: scale(wrapBase),
  };
}

/** The exact expected accuracy over the task's examples: what the sampled answers average to. */
export function expectedAccuracy(features: InstructionFeatures, task: BankingTask, temperature = 0): number {
  const b = policyBehaviour(features, task, temperature);
  const others = Math.max(1, task.intents.length - 1);
  let sum = 0;
  for (const e of task.examples) {
    const c = b.confusion(e.label);
    // Right after step 1: not confused and no drift, or confused and drifted back to the right one.
    const intentRight = (1 - c) * (1 - b.drift) + (c * b.drift) / others;
    sum += intentRight * (1 - b.invent(e.label)) * (1 - b.wrap);
  }
  return task.examples.length === 0 ? 0 : sum / task.examples.length;
}

const WRAPS: readonly ((label: string) => string)[] = [
  (l) => `The intent is ${l}.`,
  (l) => `Intent: ${l}`,
  (l) => `This query is about ${l}.`,
  (l) => `${l} - the customer needs help with this.`,
  (l) => `Based on the message, the intent is ${l}.`,
];

function pick<T>(items: readonly T[], uniform: number): T {
  return items[Math.floor(uniform * items.length) % items.length] as T;
}

/** For messages that are not task examples: the intent whose phrasings share the most words. */
export function guessIntent(text: string, task: BankingTask): string | undefined {
  const words = new Set(text.toLowerCase().match(/[a-z']+/g) ?? []);
  let best: { label: string; overlap: number } | undefined;
  for (const e of task.examples) {
    const overlap = (e.text.toLowerCase().match(/[a-z']+/g) ?? []).filter((w) => w.length > 3 && words.has(w)).length;
    if (overlap > 0 && (!best || overlap > best.overlap)) best = { label: e.label, overlap };
  }
  return best?.label;
}

/**
 * One answer. Always draws the same number of random numbers in the same order, so changing one
 * feature changes only the step it affects.
 */
export function sampleAnswer(
  task: BankingTask,
  behaviour: PolicyBehaviour,
  example: Pick<BankingExample, 'label'>,
  rng: Rng,
): string {
  // Property order is evaluation order, so the draws always happen in this sequence.
  const u = {
    confuse: rng.next(),
    drift: rng.next(),
    driftPick: rng.next(),
    invent: rng.next(),
    spaced: rng.next(),
    wrap: rng.next(),
    wrapPick: rng.next(),
  };
  let intent = example.label;
  const pair = task.pairOf(intent);
  if (pair && u.confuse < behaviour.confusion(intent)) {
    intent = pair.labels[0] === intent ? pair.labels[1] : pair.labels[0];
  }
  if (u.drift < behaviour.drift) {
    const others = task.intents.filter((l) => l !== intent);
    intent = others[Math.floor(u.driftPick * others.length)] ?? intent;
  }
  const inventRate = behaviour.invent(intent);
  let name = intent;
  // Unlisted names are sometimes written with spaces ("card lost"): the grader forgives that.
  if (u.invent < inventRate) name = task.inventedLabel(intent);
  else if (inventRate > 0 && u.spaced < 0.3) name = intent.replace(/_/g, ' ');
  if (u.wrap < behaviour.wrap) return pick(WRAPS, u.wrapPick)(name);
  return name;
}
