/**
 * One rollout, three client libraries (CI runs it: test/examples/quickstart.test.ts). The proxy URL
 * speaks OpenAI chat completions, OpenAI Responses and Anthropic Messages; each call goes to its
 * module by its system text, whichever client sent it. Same setup as examples/quickstart.ts.
 */
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { MiproOnlineSession } from 'miprox';

const session = await MiproOnlineSession.create({
  config: {
    policy_optimization: {
      algorithm: 'mipro',
      modules: [
        { name: 'extract', template: 'Extract the entities from the question.' },
        { name: 'plan', template: 'Plan how to help with: {entities}' },
        { name: 'answer', template: "Classify the customer's banking query into an intent.\nContext:\n{context}" },
      ],
      policy: { provider: 'sim', model: 'sim-policy', temperature: 0, max_completion_tokens: 64 },
      mipro: {
        mode: 'online', bootstrap_train_seeds: [0, 1], online_pool: { start: 0, end: 10 }, val_seeds: [10, 11],
        online_proposer_mode: 'inline', online_proposer_min_rollouts: 10, online_rollouts_per_candidate: 4,
        proposer: { provider: 'sim', model: 'sim-proposer' },
      },
    },
  },
});

const query = 'I lost my card yesterday';
const rollouts = Number(process.env.ROLLOUTS ?? 20);
for (let i = 0; i < rollouts; i++) {
  const rollout = await session.nextRollout(); // the seed scheduler: a fresh rollout id, and chat_completions_url
  const base = session.rolloutBaseUrl(rollout.rollout_id); // one base URL for every client of this rollout
  // OpenAI Responses: the system text is `instructions`. (The API keys are not used by the proxy.)
  const openai = new OpenAI({ baseURL: base, apiKey: 'unused' });
  const entities = (await openai.responses.create({ model: 'any', instructions: 'Extract the entities from the question.', input: query })).output_text;
  // Plain HTTP on the scheduler's URL: a chat completions body.
  const res = await fetch(rollout.chat_completions_url, {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'any', messages: [{ role: 'system', content: `Plan how to help with: ${entities}` }, { role: 'user', content: query }] }),
  });
  const plan = ((await res.json()) as { choices: { message: { content: string } }[] }).choices[0]!.message.content;
  // Anthropic Messages: the system text is `system`; the SDK appends /v1/messages to the base URL.
  const claude = new Anthropic({ baseURL: base, apiKey: 'unused' });
  const message = await claude.messages.create({
    model: 'any', max_tokens: 64, system: `Classify the customer's banking query into an intent.\nContext:\n${plan}`, messages: [{ role: 'user', content: query }],
  });
  const answer = message.content.map((b) => (b.type === 'text' ? b.text : '')).join('');
  await session.updateReward({ rolloutId: rollout.rollout_id, rewardInfo: { score: answer.trim() === 'card_lost' ? 1 : 0 }, stop: i === rollouts - 1 });
}
const status = await session.status();
console.log(`job ${status.job_id}: ${status.status}, best score ${status.best_score}`);
