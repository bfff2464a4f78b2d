import { normalizeLabel, type BankingTask, type ConfusablePair } from './bankingTask.js';
import type { ObservedRollout } from './proposerPromptReader.js';
import { containsWord } from './textMatch.js';

/**
 * What the simulated proposer concludes from the rollouts it was shown, like an LLM reading
 * "input / output / reward" triples. It recognises the query, so it knows the right intent (the
 * world knowledge a real proposer brings); it only learns about a pair from a failure it saw.
 */
export interface ProposerEvidence {
  failures: number;
  successes: number;
  /** Failures where the label sat inside a sentence: the format needs stating. */
  wrapped: number;
  /** Failures where the answer was no label at all: the label names need listing. */
  invented: number;
  /** Confusable pairs a failure revealed, most often revealed first. */
  revealedPairs: ConfusablePair[];
  otherConfusions: number;
}

function labelsInside(output: string, task: BankingTask): string[] {
  return task.intents.filter((l) => containsWord(output, l) || containsWord(output, l.replace(/_/g, ' ')));
}

export function diagnose(rollouts: readonly ObservedRollout[], task: BankingTask): ProposerEvidence {
  const evidence: ProposerEvidence = { failures: 0, successes: 0, wrapped: 0, invented: 0, revealedPairs: [], otherConfusions: 0 };
  const pairCounts = new Map<ConfusablePair, number>();
  const reveal = (pair: ConfusablePair | undefined): void => {
    if (pair) pairCounts.set(pair, (pairCounts.get(pair) ?? 0) + 1);
  };
  for (const r of rollouts) {
    const truth = r.example.label;
    const failed =
      r.reward !== undefined ? r.reward < 0.5 : r.output !== undefined ? task.score(r.example.seed, r.output) === 0 : undefined;
    if (failed === undefined) continue;
    if (!failed) {
      evidence.successes++;
      continue;
    }
    evidence.failures++;
    const pair = task.pairOf(truth);
    const partner = pair ? (pair.labels[0] === truth ? pair.labels[1] : pair.labels[0]) : undefined;
    if (r.output === undefined) {
      // Failed, answer not shown: a reader guesses the usual suspect for this intent.
      if (pair) reveal(pair);
      else evidence.otherConfusions++;
      continue;
    }
    const normalized = normalizeLabel(r.output);
    if (task.intents.includes(normalized)) {
      if (normalized === partner) reveal(pair);
      else evidence.otherConfusions++;
      continue;
    }
    const inside = labelsInside(r.output, task);
    if (inside.length > 0) {
      evidence.wrapped++;
      if (partner && inside.includes(partner) && !inside.includes(truth)) reveal(pair);
    } else {
      evidence.invented++;
      // "stolen_card" for a lost card is a made-up name and a confusion at once.
      if (partner && normalized === normalizeLabel(task.inventedLabel(partner))) reveal(pair);
    }
  }
  evidence.revealedPairs = [...pairCounts.entries()].sort((a, b) => b[1] - a[1]).map(([pair]) => pair);
  return evidence;
}
