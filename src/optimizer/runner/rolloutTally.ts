/**
 * How many rollouts the cached jobs of one instance may remember together, by default
 * (JOB_CACHE_MAX_ROLLOUTS, config.ts). Measured (`npm run bench:memory`): a cached rollout costs
 * about 240 bytes of heap in the server with 36-character ids (130 for the cache's own maps; the id,
 * a slice of the proxied call's URL, keeps the URL alive), about 500 with 256-character ids: a
 * million is about 0.25 GB, 0.5 GB at most.
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
