import { addProgram } from './programs.js';
import { api, seedJobBody, simJobBody } from './server.js';
import type { Store } from '../../src/store/types.js';

/**
 * The guard's planted world (mipro.guard), shared by the API, CLI and dashboard tests: a job whose
 * winner `cand_win` always earns 1 and the baseline 0 optimizes to its end (40 rewards) and then
 * serves the winner; production rewards after the end either hold or collapse.
 */
export const GUARD_BASELINE = 'Answer the question.';
export const GUARD_WINNER = 'Answer the question, citing the source.';
export const GUARD_ROLLOUTS = 40;

export interface GuardServer { url: string; key: string; server: { store: Store } }
export interface GuardJob { job_id: string; system_id: string; proxy_url: string }

/** The job body: `provider: 'sim'` needs no upstream; `openai` goes to OPENAI_BASE_URL (a fake). */
export function guardJobBody(opts: { guard?: string; provider?: 'openai' | 'sim' } = {}) {
  const mipro = { online_rollouts_per_candidate: 2, online_proposer_max_candidates: 2, max_rollouts: GUARD_ROLLOUTS, ...(opts.guard ? { guard: opts.guard } : {}) };
  return opts.provider === 'sim' ? simJobBody(mipro, GUARD_BASELINE) : seedJobBody({ initialPrompt: GUARD_BASELINE, mipro });
}

/** Creates the job (not yet driven) with `cand_win` in its pool. */
export async function createGuardJob(t: GuardServer, opts: { guard?: string; provider?: 'openai' | 'sim' } = {}): Promise<GuardJob> {
  const res = await api(t.url, 'POST', '/api/policy-optimization/online/jobs', { key: t.key, body: guardJobBody(opts) });
  if (res.status !== 200) throw new Error(`job creation failed: ${res.status} ${JSON.stringify(res.body)}`);
  const job = res.body as GuardJob;
  await addProgram(t.server.store, job.job_id, 'cand_win', { main: GUARD_WINNER }, 'main');
  return job;
}

/** One call of the app through the proxy URL (returns the answer; `x-mipro-candidate-id` says what served). */
export function guardCall(job: { proxy_url: string }, rollout: string) {
  const call = { model: 'x', messages: [{ role: 'system', content: GUARD_BASELINE }, { role: 'user', content: 'q' }] };
  return api(`${job.proxy_url}/${rollout}`, 'POST', '/chat/completions', { body: call });
}

export function guardReward(t: GuardServer, job: { system_id: string }, rollout: string, score: number) {
  return api(t.url, 'POST', `/api/v1/online/sessions/${job.system_id}/reward`, { key: t.key, body: { rollout_id: rollout, reward_info: { score } } });
}

/** Optimizes to the end: every rollout earns 1 when `cand_win` served it, else 0. */
export async function driveGuardJobToEnd(t: GuardServer, job: GuardJob): Promise<void> {
  // The engine reads the pool again after its cache TTL: let it see cand_win first.
  await new Promise((r) => setTimeout(r, 50));
  for (let i = 0; i < GUARD_ROLLOUTS; i++) {
    const served = (await guardCall(job, `r${i}`)).headers.get('x-mipro-candidate-id');
    await guardReward(t, job, `r${i}`, served === 'cand_win' ? 1 : 0);
  }
}

/**
 * Production traffic after the end: `n` rollouts through the proxy, each rewarded `score`. Returns
 * what served each; throws on a refused reward.
 */
export async function monitorGuardJob(t: GuardServer, job: GuardJob, prefix: string, n: number, score: number): Promise<string[]> {
  const served: string[] = [];
  for (let i = 0; i < n; i++) {
    served.push((await guardCall(job, `${prefix}${i}`)).headers.get('x-mipro-candidate-id') ?? '');
    const r = await guardReward(t, job, `${prefix}${i}`, score);
    if (r.status !== 200) throw new Error(`monitor reward refused: ${r.status} ${JSON.stringify(r.body)}`);
  }
  return served;
}
