/**
 * A rollout loop against miprox, the way an application uses it:
 *   1. start an online session (a MIPRO job) once;
 *   2. for each rollout, ask the seed scheduler which example to run, send the LLM call through the
 *      proxy with the official `openai` SDK (baseURL = proxyUrl + '/' + rolloutId), score the answer;
 *   3. report the score with updateReward. miprox learns which instruction scores best and keeps
 *      proposing better ones.
 *
 * Offline, with the built-in simulator as the model (no API key for any provider needed):
 *   MIPROX_API_KEY=mpx_local_dev_key npx miprox serve          # terminal 1
 *   MIPROX_API_KEY=mpx_local_dev_key npx tsx examples/rollout-loop.ts --rollouts 80 --stop
 * MIPROX_BASE_URL selects another server (default http://127.0.0.1:8700).
 */
import { parseArgs } from 'node:util';
import OpenAI from 'openai';
import { MiproOnlineSession } from 'miprox';

// The application's data: customer queries and the intent a correct answer names.
const DATASET = [
  { query: 'I lost my card yesterday', label: 'card_lost' },
  { query: 'My card was stolen on the bus', label: 'card_stolen' },
  { query: 'My card keeps getting declined in shops', label: 'card_not_working' },
  { query: 'I typed the wrong PIN three times and now it is blocked', label: 'pin_blocked' },
  { query: 'When will my new card arrive?', label: 'card_arrival' },
  { query: 'How do I activate the card I just received?', label: 'activate_card' },
  { query: 'I want to set a new PIN for my card', label: 'change_pin' },
  { query: 'My transfer failed', label: 'transfer_failed' },
  { query: 'My transfer is still pending', label: 'transfer_pending' },
  { query: 'My balance has not updated after a deposit', label: 'balance_not_updated' },
  { query: 'What exchange rate do you use for euros?', label: 'exchange_rate' },
  { query: 'Why was I charged a fee for my card?', label: 'card_fees' },
  { query: 'My top up did not work', label: 'top_up_failed' },
  { query: 'The refund from the shop is not showing', label: 'refund_not_showing' },
  { query: 'I was charged for taking cash out', label: 'cash_withdrawal_charge' },
  { query: 'The ATM gave me less money than I asked for', label: 'wrong_amount_atm' },
  { query: 'A direct debit was taken twice', label: 'direct_debit_issue' },
  { query: 'I want to close my account', label: 'close_account' },
  { query: 'How do I verify my identity?', label: 'verify_identity' },
  { query: 'Can I add my card to Apple Pay?', label: 'apple_pay' },
];

/** What the application optimizes: the system prompt below is the baseline candidate. */
const JOB_CONFIG = {
  policy_optimization: {
    algorithm: 'mipro',
    policy: { provider: 'sim', model: 'sim-policy', temperature: 0, max_completion_tokens: 64 },
    mipro: {
      mode: 'online',
      bootstrap_train_seeds: [0, 1, 2, 3, 4],
      online_pool: [...Array(16).keys()],
      val_seeds: [16, 17, 18, 19],
      online_proposer_mode: 'inline',
      online_proposer_min_rollouts: 10,
      online_rollouts_per_candidate: 4,
      proposer: { mode: 'instruction_only', provider: 'sim', model: 'sim-proposer', temperature: 0.7, max_tokens: 512 },
    },
  },
};
const SYSTEM_PROMPT = "Classify the customer's banking query into an intent.";

const normalize = (text: string) => text.trim().toLowerCase().replace(/[."'`*]/g, '').replace(/[\s-]+/g, '_');

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { rollouts: { type: 'string', default: '60' }, stop: { type: 'boolean', default: false } } });
  const rollouts = Number(values.rollouts);

  const session = await MiproOnlineSession.create({ config: JOB_CONFIG, metadata: { example: 'rollout-loop' } });
  console.log(`session ${session.sessionId} (job ${session.jobId})`);

  let correct = 0;
  for (let i = 0; i < rollouts; i++) {
    const rollout = await session.nextRollout();
    const example = DATASET[rollout.seed % DATASET.length]!;

    // All calls with this base URL belong to one rollout and see one candidate instruction.
    const openai = new OpenAI({ baseURL: session.rolloutBaseUrl(rollout.rollout_id), apiKey: 'not-needed-for-the-proxy' });
    const { data, response } = await openai.chat.completions
      .create({ model: 'sim-policy', messages: [{ role: 'system', content: SYSTEM_PROMPT }, { role: 'user', content: example.query }] })
      .withResponse();
    const predicted = data.choices[0]?.message.content ?? '';
    const score = normalize(predicted) === example.label ? 1 : 0;
    correct += score;

    await session.updateReward({
      rolloutId: rollout.rollout_id,
      rewardInfo: { score },
      metadata: { expected: example.label, predicted, candidate: response.headers.get('x-mipro-candidate-id') },
      stop: values.stop && i === rollouts - 1,
    });
    if ((i + 1) % 10 === 0) console.log(`rollout ${i + 1}/${rollouts}: ${correct} correct so far`);
  }

  const status = await session.status();
  const ci = status.best_score_ci ? ` [${status.best_score_ci.map((x) => x.toFixed(2)).join(', ')}]` : '';
  console.log(`status: ${status.status}; ${status.candidates?.length ?? 0} candidates, ${status.proposal_seq} proposals`);
  console.log(`best score: ${status.best_score?.toFixed(2) ?? '-'}${ci} (${status.best_score_source ?? 'no data'}), baseline ${status.baseline_score?.toFixed(2) ?? '-'}`);
  console.log(`best prompt (${status.best_candidate_id ?? '-'}):\n${status.best_prompt ?? '-'}`);
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? `${err.name}: ${err.message}` : err);
  process.exit(1);
});
