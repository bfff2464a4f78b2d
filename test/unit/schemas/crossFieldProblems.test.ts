import { describe, expect, it } from 'vitest';
import { parseJobRequest } from '../../../src/schemas/jobRequest.js';
import { ValidationError } from '../../../src/shared/errors.js';

/**
 * SPEC.md: a 422's `details` lists EVERY bad field. The checks that compare two fields (val seeds
 * held out, demo_min_reward and the stop rule's epsilon inside reward_range, demos_only with
 * max_demos 0, max_modules beside declared modules, an initial_prompt pattern's placeholders, an
 * openai_compatible policy's inference_url) were skipped by zod whenever any other field of the same
 * object had the wrong type: a client fixing the listed problems met these as a second refusal.
 */
const body = (policy: Record<string, unknown>, mipro: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
  policy_optimization: {
    algorithm: 'mipro',
    policy: { provider: 'sim', model: 'sim-policy', ...policy },
    mipro: {
      mode: 'online', bootstrap_train_seeds: [0], online_pool: [0, 1, 2], val_seeds: [5],
      online_proposer_mode: 'inline', online_proposer_min_rollouts: 5, online_rollouts_per_candidate: 2,
      ...mipro,
      proposer: { provider: 'sim', model: 'sim-proposer', ...(mipro.proposer as object | undefined) },
    },
    ...extra,
  },
});

const paths = (request: unknown): string[] => {
  try {
    parseJobRequest(request);
  } catch (err) {
    if (err instanceof ValidationError) return err.details.map((d) => d.path);
    throw err;
  }
  throw new Error('the config was accepted');
};

const P = 'policy_optimization';

describe('cross-field problems are listed beside type errors', () => {
  it('lists a val seed shared with training beside a wrong online_proposer_mode', () => {
    expect(paths(body({}, { val_seeds: [1], online_proposer_mode: 'batch' }))).toEqual(
      expect.arrayContaining([`${P}.mipro.online_proposer_mode`, `${P}.mipro.val_seeds`]));
  });

  it('lists demo_min_reward outside reward_range beside a wrong proposer.mode', () => {
    expect(paths(body({}, { reward_range: [0, 10], demo_min_reward: 11, proposer: { mode: 'foo' } }))).toEqual(
      expect.arrayContaining([`${P}.mipro.proposer.mode`, `${P}.mipro.demo_min_reward`]));
  });

  it('lists an epsilon wider than reward_range beside a wrong guard', () => {
    expect(paths(body({}, { stop_when_identified: { epsilon: 20 }, guard: 1 }))).toEqual(
      expect.arrayContaining([`${P}.mipro.guard`, `${P}.mipro.stop_when_identified.epsilon`]));
  });

  it('lists demos_only with max_demos 0 beside a wrong policy provider', () => {
    expect(paths(body({ provider: 'x' }, { max_demos: 0, proposer: { mode: 'demos_only' } }))).toEqual(
      expect.arrayContaining([`${P}.policy.provider`, `${P}.mipro.max_demos`]));
  });

  it('lists max_modules beside declared modules and a wrong policy provider', () => {
    const request = body({ provider: 'x' }, { max_modules: 3 }, { modules: [{ name: 'a', template: 'A.' }] });
    expect(paths(request)).toEqual(expect.arrayContaining([`${P}.policy.provider`, `${P}.mipro.max_modules`]));
  });

  it('lists an initial_prompt pattern with touching placeholders beside a wrong policy provider', () => {
    const request = body({ provider: 'x' }, {}, { initial_prompt: { messages: [{ role: 'system', pattern: '{a}{b}' }] } });
    expect(paths(request)).toEqual(expect.arrayContaining([`${P}.policy.provider`, `${P}.initial_prompt.messages`]));
  });

  it('lists a missing inference_url beside a wrong model', () => {
    expect(paths(body({ provider: 'openai_compatible', model: 3 }, {}))).toEqual(
      expect.arrayContaining([`${P}.policy.model`, `${P}.policy.inference_url`]));
  });

  it('reports nothing twice, and nothing about fields that are themselves refused', () => {
    // A refused reward_range is not a range to compare with; a refused epsilon is not compared.
    const found = paths(body({}, { reward_range: [1, 0], demo_min_reward: 11, stop_when_identified: { epsilon: 'x' } }));
    expect(found).toEqual([`${P}.mipro.reward_range`, `${P}.mipro.stop_when_identified.epsilon`]);
  });
});

describe('session overrides beside another refused field', () => {
  const session = (policy: Record<string, unknown>, extra: Record<string, unknown>) => ({
    config_body: body(policy, {}), ...extra,
  });

  it('applies the overrides: a field they supply is not reported missing', () => {
    const request = session({ model: undefined }, { overrides: { 'policy_optimization.policy.model': 'gpt-4o' }, correlation_id: 5 });
    expect(paths(request)).toEqual(['correlation_id']);
  });

  it('lists an override\'s own problem beside the envelope\'s', () => {
    const request = session({}, { overrides: { 'policy_optimization.policy.model': 3 }, metadata: 5 });
    expect(paths(request)).toEqual(expect.arrayContaining(['metadata', 'overrides.policy_optimization.policy.model']));
  });
});
