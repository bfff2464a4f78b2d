import { ConflictError, MiproOnlineSession, type Candidate, type SessionStatus } from '../sdk/index.js';
import type { BankingTask } from '../providers/sim/index.js';
import { type DemoModelChoice, demoJobBody } from './demoJob.js';

export interface DemoOptions {
  backendUrl: string;
  apiKey: string;
  task: BankingTask;
  models: DemoModelChoice;
  rollouts: number;
  concurrency: number;
  maxCandidates: number;
  /** Cap on the final confirmation rollouts on val seeds (they cost model calls on a real provider). */
  maxConfirmationRollouts: number;
  onProgress?(p: DemoProgress): void;
  signal?: AbortSignal;
}

export interface DemoProgress {
  phase: 'optimizing' | 'confirming';
  done: number;
  total: number;
  /** Accuracy of the last 50 online rollouts. */
  recentAccuracy: number | null;
  candidates: number;
  proposals: number;
  bestScore: number | null;
}

export interface ScoredPrompt {
  candidateId: string;
  instruction: string;
  valScore: number | null;
  valCi: [number, number] | null;
  valCount: number;
  onlineScore: number | null;
  onlineCount: number;
}

export interface DemoResult {
  sessionId: string;
  jobId: string;
  rollouts: number;
  status: SessionStatus;
  best: ScoredPrompt | null;
  baseline: ScoredPrompt | null;
  candidates: Candidate[];
}

/**
 * The demo loop, written the way a user would write theirs: ask the scheduler for a seed, send the
 * LLM call to the proxy URL with a plain HTTP client, score the answer, report the reward through
 * the SDK. Then a confirmation phase runs the champion and the baseline on the held-out val seeds.
 */
export async function runDemo(o: DemoOptions): Promise<DemoResult> {
  const session = await MiproOnlineSession.create({
    backendUrl: o.backendUrl, apiKey: o.apiKey,
    config: demoJobBody(o.models, o.task.baselineInstruction, o.maxCandidates),
    metadata: { source: 'miprox demo', task: o.task.name },
  });
  const recent: number[] = [];
  // Held in an object: it is set inside the workers' closures, which TypeScript's narrowing cannot see.
  const finalReward: { last: { rolloutId: string; rewardInfo: { score: number }; metadata: Record<string, unknown> } | null } = { last: null };
  let done = 0;
  let last: SessionStatus | null = null;
  const report = async (phase: DemoProgress['phase'], total: number) => {
    if (done % 10 === 0 || done === total) last = await session.status();
    o.onProgress?.({
      phase, done, total,
      recentAccuracy: recent.length ? recent.reduce((a, b) => a + b, 0) / recent.length : null,
      candidates: last?.candidates?.length ?? 1, proposals: last?.proposal_seq ?? 0, bestScore: last?.best_score ?? null,
    });
  };

  const runOne = async (split?: 'val'): Promise<boolean> => {
    let rollout;
    try {
      rollout = await session.nextRollout({ ...(split ? { split } : {}), ...(o.signal ? { signal: o.signal } : {}) });
    } catch (err) {
      if (split && err instanceof ConflictError) return false; // no confirmation work left
      throw err;
    }
    const output = await callModel(rollout.chat_completions_url, o.task, rollout.seed, o.signal);
    const score = o.task.score(rollout.seed, output);
    const reward = { rolloutId: rollout.rollout_id, rewardInfo: { score }, metadata: { seed: rollout.seed, split: rollout.split } };
    await session.updateReward(reward);
    finalReward.last = reward;
    if (rollout.split !== 'val') {
      recent.push(score);
      if (recent.length > 50) recent.shift();
    }
    return true;
  };

  const workers = (count: number, work: () => Promise<boolean>) =>
    Promise.all(Array.from({ length: count }, async () => {
      while (!o.signal?.aborted && (await work())) { /* next */ }
    }));

  let issued = 0;
  await workers(o.concurrency, async () => {
    if (issued >= o.rollouts) return false;
    issued++;
    await runOne();
    done++;
    await report('optimizing', o.rollouts);
    return true;
  });

  done = 0;
  let confirmations = 0;
  await workers(Math.min(o.concurrency, 2), async () => {
    if (confirmations >= o.maxConfirmationRollouts) return false;
    confirmations++;
    const more = await runOne('val');
    if (more) {
      done++;
      await report('confirming', o.maxConfirmationRollouts);
    }
    return more;
  });

  // End the job as succeeded (a demo left running looked unfinished in every list). `stop: true`
  // rides on a repeat of the last reward: the server counts a rollout's reward once and still stops.
  if (finalReward.last) await session.updateReward({ ...finalReward.last, stop: true });
  const status = await session.status();
  const candidates: Candidate[] = [];
  for await (const c of session.iterateCandidates({ limit: 100 })) candidates.push(c);
  const scored = (id: string | null | undefined): ScoredPrompt | null => {
    const c = candidates.find((x) => x.candidate_id === id);
    return c ? {
      candidateId: c.candidate_id, instruction: c.instruction ?? '', valScore: c.val_score ?? null, valCi: c.val_ci ?? null,
      valCount: c.val_count ?? 0, onlineScore: c.avg_reward ?? null, onlineCount: c.reward_count,
    } : null;
  };
  return {
    // What the server counts: a confirmation request that found no work left is not a rollout.
    sessionId: session.sessionId, jobId: session.jobId, rollouts: status.rollout_count, status,
    best: scored(status.best_candidate_id), baseline: scored('baseline'), candidates,
  };
}

async function callModel(url: string, task: BankingTask, seed: number, signal?: AbortSignal): Promise<string> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ messages: [{ role: 'system', content: task.baselineInstruction }, { role: 'user', content: task.userMessage(seed) }] }),
    ...(signal ? { signal } : {}),
  });
  const body = (await res.json()) as { choices?: Array<{ message?: { content?: string | null } }>; error?: { message?: string } };
  if (!res.ok) throw new Error(`the proxy answered ${res.status}: ${body.error?.message ?? 'no message'}`);
  return body.choices?.[0]?.message?.content ?? '';
}
