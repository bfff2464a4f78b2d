/**
 * A program of three prompts (extract -> plan -> answer), runnable as is (CI runs it:
 * test/examples/quickstart.test.ts). Same setup as examples/quickstart.ts: a server running and
 * MIPROX_API_KEY set; provider "sim" runs offline.
 */
import OpenAI from 'openai';
import { MiproOnlineSession } from 'miprox';

const DATA = [
  { query: 'I lost my card yesterday', label: 'card_lost', customer: 'Ada' },
  { query: 'My transfer is still pending', label: 'transfer_pending', customer: 'Bob' },
  { query: 'When will my new card arrive?', label: 'card_arrival', customer: 'Chen' },
];
const sim = (model: string) => ({ provider: 'sim', model, temperature: 0.7, max_tokens: 512, instructions_per_batch: 2 });

const session = await MiproOnlineSession.create({
  config: {
    policy_optimization: {
      algorithm: 'mipro',
      // One template per prompt of the program; {placeholders} are captured from each call's system text.
      modules: [
        { name: 'extract', template: 'Extract the entities from the question.' },
        { name: 'plan', template: 'Plan how to help customer {customer} with their banking issue.' },
        { name: 'answer', template: "Classify the customer's banking query into an intent.\nContext:\n{context}" },
      ],
      policy: { provider: 'sim', model: 'sim-policy', temperature: 0, max_completion_tokens: 64 },
      mipro: {
        mode: 'online', bootstrap_train_seeds: [0, 1, 2], online_pool: { start: 0, end: 30 }, val_seeds: [30, 31, 32],
        online_proposer_mode: 'inline', online_proposer_min_rollouts: 10, online_rollouts_per_candidate: 4,
        proposer: { mode: 'instruction_only', ...sim('sim-proposer') },
      },
    },
  },
});

const rollouts = Number(process.env.ROLLOUTS ?? 120);
for (let i = 0; i < rollouts; i++) {
  const { query, label, customer } = DATA[i % DATA.length]!;
  const rolloutId = `rollout_${i}`;
  // One base URL per rollout: all three calls get the same candidate program, each its own module's prompt.
  const llm = new OpenAI({ baseURL: session.rolloutBaseUrl(rolloutId), apiKey: 'unused' });
  const ask = async (system: string) => (await llm.chat.completions.create({
    model: 'any', messages: [{ role: 'system', content: system }, { role: 'user', content: query }],
  })).choices[0]?.message.content ?? '';
  const entities = await ask('Extract the entities from the question.');
  await ask(`Plan how to help customer ${customer} with their banking issue.`); // {customer} is captured
  const answer = await ask(`Classify the customer's banking query into an intent.\nContext:\n${entities}`);
  const score = answer.trim().toLowerCase().replace(/[^a-z_ ]/g, '').replace(/ +/g, '_') === label ? 1 : 0;
  await session.updateReward({ rolloutId, rewardInfo: { score }, stop: i === rollouts - 1 });
}
const status = await session.status();
console.log(`job ${status.job_id}: ${status.status}, best score ${status.best_score}`);
for (const [module, text] of Object.entries(status.best_program ?? {})) console.log(`${module}: ${text}`);
const changed = (await session.proposals()).map((p) => p.module);
console.log(`proposals by module: ${status.modules.map((m) => `${m.name} ${changed.filter((c) => c === m.name).length}`).join(', ')}`);
