import type { ChatCompletionRequest } from '../../schemas/openai.js';
import type { ChatProvider } from '../types.js';
import { createBankingTask, type BankingTask } from './bankingTask.js';
import { isDatasetSummaryRequest, summarizeInputs } from './datasetSummary.js';
import { CallCounter, hashString, hex32, rngFor } from './hash.js';
import { messageText } from './openaiShapes.js';
import { planProposals } from './proposalPlanner.js';
import { readProposerPrompt } from './proposerPromptReader.js';
import { createSimChatProvider, type SimDecision, type SimTimingOptions } from './simChatProvider.js';

export interface ProposerSimulatorOptions extends SimTimingOptions {
  task?: BankingTask;
  /** Probability that a child gets one harmful edit (default PROPOSER_RATES.badEdit = 0.2). */
  badEditRate?: number;
}

export const PROPOSER_SIM_MODEL = 'sim-proposer';

/**
 * The simulated proposer model. It reads the whole proposer prompt (every message), finds the
 * parent instruction, the rollouts shown with their outputs and rewards, the tip and the number of
 * instructions asked for (proposerPromptReader.ts), edits the parent accordingly
 * (proposalPlanner.ts), and answers `{"instructions": [...]}` as the proposer prompt requests.
 * Asked to describe the task inputs instead (MIPRO's dataset summary), it answers with a summary.
 *
 * Deterministic given the prompt text and a seed: the request's `seed`, else how many times this
 * exact prompt was sent to this provider before. It does not cut its answer at max_tokens, so a
 * demo with a small proposer budget still gets parseable JSON.
 */
export function createProposerSimulator(opts: ProposerSimulatorOptions = {}): ChatProvider {
  const task = opts.task ?? createBankingTask();
  const calls = new CallCounter();
  const plannerOptions = opts.badEditRate === undefined ? {} : { badEditRate: opts.badEditRate };

  const decide = (req: ChatCompletionRequest): SimDecision => {
    const prompt = req.messages.map(messageText).join('\n\n');
    const promptKey = hex32(hashString(prompt));
    const seed = typeof req['seed'] === 'number' ? req['seed'] : undefined;
    const draw = seed === undefined ? `n${calls.next(promptKey)}` : `s${seed}`;
    if (isDatasetSummaryRequest(prompt)) {
      return { content: summarizeInputs(prompt, task), idKey: `summary:${promptKey}:${draw}`, honourMaxTokens: false };
    }
    const reading = readProposerPrompt(prompt, task);
    const instructions = planProposals(reading, task, (j) => rngFor('proposer', prompt, draw, j), plannerOptions, prompt);
    return { content: JSON.stringify({ instructions }), idKey: `proposer:${promptKey}:${draw}`, honourMaxTokens: false };
  };

  return createSimChatProvider(decide, PROPOSER_SIM_MODEL, opts);
}
