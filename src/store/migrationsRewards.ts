import { type Kysely, type Migration, sql } from 'kysely';

/**
 * Jobs created before `mipro.reward_range` existed get one written into their stored config, so that
 * their intervals stay valid and their later rewards are checked like everyone else's:
 * - every stored reward in [0, 1] (or none yet): [0, 1], today's default and yesterday's behaviour;
 * - otherwise the observed [min, max], widened by a tenth of its width on each side (a later reward a
 *   little beyond what was seen is still accepted), within the +-1e6 reward cap.
 * A reward outside the written range is refused from then on (docs/API.md says so).
 */
export const m0006RewardRange: Migration = {
  async up(db: Kysely<unknown>) {
    const jobs = await sql<{ id: string; config: string }>`select id, config from jobs`.execute(db);
    const observed = await sql<{ job_id: string; lo: number | string; hi: number | string }>`
      select job_id, min(reward) as lo, max(reward) as hi from rewards group by job_id`.execute(db);
    const byJob = new Map(observed.rows.map((r) => [r.job_id, [Number(r.lo), Number(r.hi)] as const]));
    for (const job of jobs.rows) {
      const config = JSON.parse(job.config) as { mipro?: Record<string, unknown> };
      if (!config.mipro || config.mipro.reward_range !== undefined) continue;
      config.mipro.reward_range = legacyRange(byJob.get(job.id));
      await sql`update jobs set config = ${JSON.stringify(config)} where id = ${job.id}`.execute(db);
    }
  },
};

const CAP = 1e6;

/** The range migration 0005 gives a job whose rewards spanned `observed` (exported for its test). */
export function legacyRange(observed: readonly [number, number] | undefined): [number, number] {
  if (!observed || (observed[0] >= 0 && observed[1] <= 1)) return [0, 1];
  const [min, max] = observed;
  const margin = max > min ? (max - min) / 10 : Math.max(1, Math.abs(min) / 10);
  return [Math.max(-CAP, min - margin), Math.min(CAP, max + margin)];
}

/**
 * Missing rewards are counted from the rollouts (store/evidenceQueries.ts): an index on
 * (job, dispatch time) holding candidate, split and reward answers the count without the table, and
 * a column guards the once-per-candidate `mipro.candidate.missing_rewards` event.
 */
export const m0005MissingRewards: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema.createIndex('rollouts_job_created').on('rollouts').columns(['job_id', 'created_at', 'candidate_id', 'split', 'reward']).execute();
    await db.schema.alterTable('candidates').addColumn('missing_flagged_at', 'text').execute();
  },
};
