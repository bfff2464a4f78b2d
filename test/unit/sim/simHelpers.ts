import type { ChatProvider } from '../../../src/providers/types.js';
import type { BankingTask } from '../../../src/providers/sim/bankingTask.js';

/** Instructions built the way a careful prompt writer would, feature by feature. */
export function labelList(task: BankingTask): string {
  return `Possible intents: ${task.intents.join(', ')}.`;
}

export const FORMAT_RULE = 'Answer with only the intent label, nothing else.';

export function pairRules(task: BankingTask): string[] {
  return task.pairs.map(
    (p) =>
      `Use ${p.labels[1]} when the customer mentions ${p.cues[1].slice(0, 3).join(', ')}; ` +
      `use ${p.labels[0]} when they mention ${p.cues[0].slice(0, 3).join(', ')}.`,
  );
}

export function fullInstruction(task: BankingTask): string {
  return [task.baselineInstruction, labelList(task), FORMAT_RULE, ...pairRules(task)].join('\n');
}

export interface Rollout {
  seed: number;
  input: Array<{ role: string; content: string }>;
  output: string;
  reward: number;
}

export async function answer(policy: ChatProvider, instruction: string, userText: string, seed?: number): Promise<string> {
  const res = await policy.complete({
    model: 'sim-policy',
    messages: [
      { role: 'system', content: instruction },
      { role: 'user', content: userText },
    ],
    ...(seed === undefined ? {} : { seed }),
  });
  return res.json.choices[0]?.message.content ?? '';
}

export async function runRollouts(policy: ChatProvider, task: BankingTask, instruction: string, seeds: readonly number[]): Promise<Rollout[]> {
  const rollouts: Rollout[] = [];
  for (const seed of seeds) {
    const text = task.userMessage(seed);
    const output = await answer(policy, instruction, text);
    rollouts.push({ seed, input: [{ role: 'user', content: text }], output, reward: task.score(seed, output) });
  }
  return rollouts;
}

export async function accuracy(policy: ChatProvider, task: BankingTask, instruction: string, seeds?: readonly number[]): Promise<number> {
  const rs = await runRollouts(policy, task, instruction, seeds ?? task.examples.map((e) => e.seed));
  return rs.reduce((sum, r) => sum + r.reward, 0) / rs.length;
}

export const range = (start: number, count: number): number[] => Array.from({ length: count }, (_, i) => start + i);
