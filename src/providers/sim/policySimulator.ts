import type { ChatCompletionRequest } from '../../schemas/openai.js';
import type { ChatProvider } from '../types.js';
import { createBankingTask, type BankingTask } from './bankingTask.js';
import { CallCounter, hashString, hex32, rngFor } from './hash.js';
import { instructionFeatures, type InstructionFeatures } from './instructionFeatures.js';
import { lastUserText, systemText } from './openaiShapes.js';
import { guessIntent, policyBehaviour, sampleAnswer } from './policyModel.js';
import { createSimChatProvider, type SimTimingOptions } from './simChatProvider.js';

export interface PolicySimulatorOptions extends SimTimingOptions {
  task?: BankingTask;
}

export const POLICY_SIM_MODEL = 'sim-policy';

const NOT_A_BANKING_QUERY =
  'I am sim-policy, a simulated banking intent classifier: send me a customer banking query to classify.';

/** Features are pure in the instruction; a bounded cache spares re-parsing the same candidates. */
function cachedFeatures(task: BankingTask): (instruction: string) => InstructionFeatures {
  const cache = new Map<string, InstructionFeatures>();
  return (instruction) => {
    let f = cache.get(instruction);
    if (!f) {
      if (cache.size >= 1000) cache.clear();
      f = instructionFeatures(instruction, task);
      cache.set(instruction, f);
    }
    return f;
  };
}

/**
 * The simulated policy model. It reads the system message (the instruction miprox injected) and
 * the last user message (the query), and answers like a model following that instruction would:
 * see policyModel.ts for the error model and instructionFeatures.ts for what it reads.
 *
 * Randomness comes from a hash of (instruction, query, n) where n is how many times this exact
 * pair was asked before on this provider, or the request's `seed` when it has one: runs replay
 * exactly, concurrent arrival order does not matter, and repeated calls are not all identical.
 * A missing temperature counts as 0 (the simulator's choice; OpenAI's default is 1).
 */
export function createPolicySimulator(opts: PolicySimulatorOptions = {}): ChatProvider {
  const task = opts.task ?? createBankingTask();
  const featuresOf = cachedFeatures(task);
  const calls = new CallCounter();

  const decide = (req: ChatCompletionRequest): { content: string; idKey: string; honourMaxTokens: boolean } => {
    const instruction = systemText(req);
    const query = lastUserText(req);
    const pairKey = `${hex32(hashString(instruction))}:${hex32(hashString(query))}`;
    const seed = typeof req['seed'] === 'number' ? req['seed'] : undefined;
    const draw = seed === undefined ? `n${calls.next(pairKey)}` : `s${seed}`;
    const idKey = `policy:${pairKey}:${draw}`;
    const label = task.findExample(query)?.label ?? guessIntent(query, task);
    if (!label) return { content: NOT_A_BANKING_QUERY, idKey, honourMaxTokens: true };
    const behaviour = policyBehaviour(featuresOf(instruction), task, req.temperature ?? 0);
    const content = sampleAnswer(task, behaviour, { label }, rngFor('policy', instruction, query, draw));
    return { content, idKey, honourMaxTokens: true };
  };

  return createSimChatProvider(decide, POLICY_SIM_MODEL, opts);
}
