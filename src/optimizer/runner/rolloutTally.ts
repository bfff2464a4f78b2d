/**
 * How many rollouts the cached jobs of one instance may remember together, by default
 * (JOB_CACHE_MAX_ROLLOUTS, config.ts). Measured (`npm run bench:memory`): a cached rollout costs
 * about 180 bytes of heap in a server with 36-character ids (130 for the cache's own maps, the rest
 * the id, copied out of its request URL: requestBody.ts `rolloutIdOf`), about 400 with 256-character
 * ids: a million is about 0.2 GB, 0.4 GB at most.
 */
export const DEFAULT_JOB_CACHE_MAX_ROLLOUTS = 1_000_000;

/**
 * The rollouts every cached job of an engine remembers, as a running total: each job's runtime
 * adds and subtracts as its maps change, so the budget is checked with one comparison, never a scan
 * of the jobs. A runtime the engine drops takes its share out (JobRuntime.detach).
 */
export interface RolloutTally {
  count: number;
}
