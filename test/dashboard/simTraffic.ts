import { createBankingTask } from '../../src/providers/sim/bankingTask.js';
import { api, seedJobBody } from '../helpers/server.js';

/**
 * Real traffic for a job on the offline simulator, the way an application runs it: ask the seed
 * scheduler for a rollout, call the proxy URL, score the answer, report the reward.
 */
export const task = createBankingTask();

export function simJobBody(mipro: Record<string, unknown> = {}) {
  const body = seedJobBody({ provider: 'sim', model: 'sim-policy', proposerProvider: 'sim', proposerModel: 'sim-proposer' });
  const po = body.policy_optimization as Record<string, unknown> & { mipro: Record<string, unknown> };
  po.initial_prompt = { messages: [{ role: 'system', pattern: task.baselineInstruction, order: 0 }], wildcards: {} };
  Object.assign(po.mipro, {
    bootstrap_train_seeds: [0, 1, 2, 3, 4],
    val_seeds: [300, 301, 302, 303],
    online_pool: Array.from({ length: 200 }, (_, i) => i),
    online_proposer_min_rollouts: 12,
    online_rollouts_per_candidate: 6,
    ...mipro,
  });
  return body;
}

export interface CreatedJob { job_id: string; system_id: string; proxy_url: string }

export async function createSimJob(base: string, key: string, mipro: Record<string, unknown> = {}): Promise<CreatedJob> {
  const res = await api(base, 'POST', '/api/policy-optimization/online/jobs', { key, body: simJobBody(mipro) });
  if (res.status !== 200) throw new Error(`job creation failed: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body as CreatedJob;
}

/** The reward an application reports for a seed's answer; the task's own 0/1 score by default. */
export type Scorer = (seed: number, output: string) => number;

async function oneRollout(base: string, key: string, systemId: string, score: Scorer): Promise<void> {
  const r = await api(base, 'POST', `/api/v1/online/sessions/${systemId}/rollouts`, { key, body: {} });
  if (r.status !== 200) throw new Error(`rollout failed: ${r.status} ${JSON.stringify(r.body)}`);
  const { rollout_id: rolloutId, seed, chat_completions_url: url } = r.body as { rollout_id: string; seed: number; chat_completions_url: string };
  const chat = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      model: 'anything',
      messages: [{ role: 'system', content: task.baselineInstruction }, { role: 'user', content: task.userMessage(seed) }],
    }),
  });
  const completion = (await chat.json()) as { choices?: Array<{ message?: { content?: string } }> };
  if (!chat.ok) throw new Error(`proxy call failed: ${chat.status} ${JSON.stringify(completion)}`);
  const output = completion.choices?.[0]?.message?.content ?? '';
  const reward = await api(base, 'POST', `/api/v1/online/sessions/${systemId}/reward`, {
    key, body: { rollout_id: rolloutId, reward_info: { score: score(seed, output) } },
  });
  if (reward.status !== 200) throw new Error(`reward failed: ${reward.status} ${JSON.stringify(reward.body)}`);
}

/** Runs `count` rollouts with `concurrency` workers. */
export async function driveRollouts(base: string, key: string, systemId: string, count: number, concurrency = 4, score: Scorer = (seed, output) => task.score(seed, output)): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < count) {
      next++;
      await oneRollout(base, key, systemId, score);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
}

/** Polls the job until `done(job)` or the deadline. */
export async function waitForJob<T = Record<string, unknown>>(base: string, key: string, jobId: string, done: (job: T) => boolean, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const res = await api(base, 'GET', `/api/policy-optimization/online/jobs/${jobId}`, { key });
    if (res.status === 200 && done(res.body as T)) return res.body as T;
    if (Date.now() > deadline) throw new Error(`job ${jobId} did not reach the expected state: ${JSON.stringify(res.body).slice(0, 500)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
