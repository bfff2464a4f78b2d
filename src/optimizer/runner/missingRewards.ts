import { missingRewardVerdicts, type MissingCounts, type MissingVerdict } from '../core/missingRewards.js';
import type { CandidateRecord, Store } from '../../store/types.js';
import type { JobRuntime } from './jobRuntime.js';

/** A dispatched rollout with no reward after this long is no longer in flight: its reward is missing. */
export const IN_FLIGHT_TTL_MS = 10 * 60_000;
/**
 * How often an instance re-counts a job's missing rewards: the count scans the job's rollouts older
 * than the TTL (an index-only scan), too much for every reward, and a rate moves slowly anyway.
 */
export const MISSING_REFRESH_MS = 30_000;

export type MissingByCandidate = ReadonlyMap<string, MissingCounts>;

const NONE_MISSING: MissingCounts = { due: 0, missing: 0 };

/** Rollouts dispatched before this instant are past the in-flight expiry. */
export function missingCutoff(nowMs: number, ttlMs = IN_FLIGHT_TTL_MS): string {
  return new Date(nowMs - ttlMs).toISOString();
}

/** Each candidate's missing-reward verdict against the control (core/missingRewards.ts). */
export function missingVerdicts(candidates: readonly CandidateRecord[], missing: MissingByCandidate): Map<string, MissingVerdict> {
  return missingRewardVerdicts(candidates.map((c) => ({
    id: c.id, isControl: c.parentId === null && c.ordinal === 0, createdOrder: c.ordinal, missing: missing.get(c.id) ?? NONE_MISSING,
  })));
}

/** Ids of the candidates flagged for losing rewards: they may not become champion. */
export function flaggedIds(verdicts: ReadonlyMap<string, MissingVerdict>): Set<string> {
  return new Set([...verdicts].filter(([, v]) => v.flagged).map(([id]) => id));
}

/**
 * Re-counts the job's missing rewards when the cached count is older than MISSING_REFRESH_MS, and
 * records each newly flagged candidate once (the store's guard makes it once across instances).
 */
export async function refreshMissing(rt: JobRuntime, store: Store, nowMs: number, ttlMs: number): Promise<void> {
  if (nowMs - rt.missingAt < MISSING_REFRESH_MS) return;
  rt.missingAt = nowMs;
  rt.missing = await store.missingRewardCounts(rt.job.id, missingCutoff(nowMs, ttlMs));
  const verdicts = missingVerdicts(rt.candidates, rt.missing);
  const control = rt.candidates.find((c) => c.parentId === null && c.ordinal === 0);
  const controlRate = control ? verdicts.get(control.id)?.rate ?? null : null;
  for (const id of flaggedIds(verdicts)) {
    if (rt.missingFlagged.has(id)) continue;
    rt.missingFlagged.add(id);
    const counts = rt.missing.get(id) ?? NONE_MISSING;
    const rate = verdicts.get(id)?.rate ?? 0;
    await store.flagMissingRewards(rt.job.id, id, {
      eventType: 'mipro.candidate.missing_rewards',
      message: `${id} loses significantly more rewards than the control (${pct(rate)} against ${controlRate === null ? 'n/a' : pct(controlRate)}): it cannot be champion while the gap lasts`,
      data: { candidate_id: id, missing: counts.missing, due: counts.due, missing_reward_rate: rate, control_missing_reward_rate: controlRate },
    });
  }
}

const pct = (x: number): string => `${(100 * x).toFixed(1)}%`;
