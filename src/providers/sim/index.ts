import type { ChatProvider, ProviderTarget } from '../types.js';
import { createPolicySimulator, POLICY_SIM_MODEL, type PolicySimulatorOptions } from './policySimulator.js';
import { createProposerSimulator, PROPOSER_SIM_MODEL, type ProposerSimulatorOptions } from './proposerSimulator.js';

/**
 * The offline simulator: a banking intent task, a policy model whose accuracy depends on what the
 * instruction says, and a proposer model that edits instructions from the failures it is shown.
 * It exists so miprox can be demonstrated and tested with no API key; it is labelled as a
 * simulator everywhere it answers (model "<name> (simulator)", ids "simcmpl-..."). See docs/simulator.md.
 */
export type SimProviderOptions = PolicySimulatorOptions & ProposerSimulatorOptions;

export { POLICY_SIM_MODEL, PROPOSER_SIM_MODEL };

/** True for model names that select the proposer simulator ("sim-proposer", also "sim-proposer-v2" etc.). */
export function isProposerSimModel(model: string): boolean {
  return /^sim[-_]proposer\b/i.test(model.trim());
}

/** Picks the simulator by model name: `sim-proposer` is the proposer, anything else the policy. */
export function createSimProvider(target: ProviderTarget, opts: SimProviderOptions = {}): ChatProvider {
  return isProposerSimModel(target.model) ? createProposerSimulator(opts) : createPolicySimulator(opts);
}

export { createPolicySimulator, type PolicySimulatorOptions } from './policySimulator.js';
export { createProposerSimulator, type ProposerSimulatorOptions } from './proposerSimulator.js';
export {
  createBankingTask,
  normalizeLabel,
  type BankingExample,
  type BankingTask,
  type ConfusablePair,
} from './bankingTask.js';
export {
  instructionFeatures,
  type FormatStrength,
  type InstructionFeatures,
  type PairRuleFeature,
  type PairRuleStrength,
} from './instructionFeatures.js';
export { expectedAccuracy, policyBehaviour, POLICY_RATES, type PolicyBehaviour } from './policyModel.js';
export { PROPOSER_RATES } from './proposalPlanner.js';
export { readProposerPrompt, type ObservedRollout, type ProposerPromptReading, type ProposerTip } from './proposerPromptReader.js';
