/**
 * The README's quickstart, runnable as is (CI runs it: test/examples/quickstart.test.ts).
 *   export MIPROX_API_KEY=$(npx miprox keys create --name me)   # once
 *   npx miprox serve                                            # terminal 1
 *   npx tsx examples/quickstart.ts                              # terminal 2
 * The job config is examples/mipro.toml (provider "sim": offline, no model key needed).
 */
import { join } from 'node:path';
import OpenAI from 'openai';
import { MiproOnlineSession } from 'miprox';

// Your application's task: a few banking queries and the intent a correct answer names.
const DATA = [
  { query: 'I lost my card yesterday', label: 'card_lost' },
  { query: 'My transfer is still pending', label: 'transfer_pending' },
  { query: 'When will my new card arrive?', label: 'card_arrival' },
  { query: 'I want to set a new PIN for my card', label: 'change_pin' },
  { query: 'The refund from the shop is not showing', label: 'refund_not_showing' },
];
const query = (i: number) => DATA[i % DATA.length]!.query;
const grade = (i: number, answer: string | null | undefined) =>
  (answer ?? '').trim().toLowerCase().replace(/[^a-z_ ]/g, '').replace(/ +/g, '_') === DATA[i % DATA.length]!.label ? 1 : 0;

const session = await MiproOnlineSession.create({
  // backendUrl and apiKey default to MIPROX_BASE_URL (else http://127.0.0.1:8700) and MIPROX_API_KEY.
  configPath: join(import.meta.dirname, 'mipro.toml'),
});

const rollouts = Number(process.env.ROLLOUTS ?? 100);
for (let i = 0; i < rollouts; i++) {
  const rolloutId = `rollout_${i}`;
  // Every call with this base URL gets the same candidate; miprox injects its instruction.
  const llm = new OpenAI({ baseURL: session.rolloutBaseUrl(rolloutId), apiKey: 'unused' });
  const res = await llm.chat.completions.create({
    model: 'any', // the job's policy model is used
    messages: [{ role: 'system', content: "Classify the customer's banking query into an intent." }, { role: 'user', content: query(i) }],
  });
  const score = grade(i, res.choices[0]?.message.content);
  await session.updateReward({ rolloutId, rewardInfo: { score }, stop: i === rollouts - 1 });
}
const status = await session.status();
console.log(`job ${status.job_id}: ${status.status}, best score ${status.best_score} ${JSON.stringify(status.best_score_ci)}`);
console.log(`best prompt: ${status.best_prompt}`);
