import type { ProviderKind } from '../providers/types.js';

/**
 * The demo's job: the seed request's MIPRO settings (online mode, inline proposer, 10 rollouts per
 * candidate, a proposal every 20 rewarded rollouts, proposer temperature 0.7 / 512 tokens) on the
 * simulated banking task. The seed's five-seed lists are widened so the task has room: 20 bootstrap
 * seeds, a 200-query online pool, and 100 held-out val seeds that only confirm the champion.
 */
export interface DemoModelChoice {
  provider: ProviderKind;
  model: string;
  proposerModel: string;
  inferenceUrl?: string | undefined;
}

export const SIM_MODELS: DemoModelChoice = { provider: 'sim', model: 'sim-policy', proposerModel: 'sim-proposer' };

export function demoJobBody(models: DemoModelChoice, baselineInstruction: string, maxCandidates: number) {
  const url = models.inferenceUrl ? { inference_url: models.inferenceUrl } : {};
  return {
    policy_optimization: {
      algorithm: 'mipro',
      policy: { model: models.model, provider: models.provider, temperature: 0, max_completion_tokens: 32, ...url },
      initial_prompt: { messages: [{ role: 'system', pattern: baselineInstruction, order: 0 }] },
      mipro: {
        mode: 'online',
        bootstrap_train_seeds: { start: 0, end: 20 },
        online_pool: { start: 0, end: 200 },
        val_seeds: { start: 200, end: 300 },
        online_proposer_mode: 'inline',
        online_proposer_min_rollouts: 20,
        online_rollouts_per_candidate: 10,
        online_proposer_max_candidates: maxCandidates,
        proposer: {
          mode: 'instruction_only', model: models.proposerModel, provider: models.provider,
          temperature: 0.7, max_tokens: 1024, instructions_per_batch: 2, ...url,
        },
      },
    },
  };
}
