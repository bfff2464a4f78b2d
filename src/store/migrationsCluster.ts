import { type Kysely, type Migration, sql } from 'kysely';

/** A helper index of migration 0011, dropped before it ends. */
const SEED_LOOKUP = 'rollouts_m0011_seed_lookup';

/**
 * Several instances on one database (issue 18). The seed scheduler read "what was issued" and then
 * wrote its choice, so two instances could both issue bootstrap seed 0, or give one candidate the
 * same val seed twice (counted twice in its val statistics). From here the database refuses both:
 * - `rollouts_bootstrap_seed`: a bootstrap seed is issued once per job;
 * - `rollouts_val_pair`: a (candidate, val seed) pair is issued once.
 * The scheduler inserts with ON CONFLICT DO NOTHING and, when it lost the race, chooses again.
 *
 * Existing data is made to fit first, never deleted (every row was acknowledged):
 * - a repeated bootstrap seed: the earliest rollout keeps it; later ones become `online` rollouts
 *   (they ran on the baseline and their rewards were already in its online statistics);
 * - a repeated (candidate, val seed): the earliest keeps it; later ones keep their rows and rewards
 *   but lose the seed (rollout and reward), so they leave the val statistics, which are recomputed
 *   from the remaining val rewards of the candidates concerned.
 * Then every counter is recomputed from the rows (jobs.rollout_count, jobs.reward_count,
 * candidates.dispatches), which also repairs the drift issue 18 reported.
 */
export const m0011ClusterRaces: Migration = {
  async up(db: Kysely<unknown>) {
    // Each rollout's search for an earlier one with its seed had no index but the primary key, so on
    // SQLite it read every rollout of the job: (val rollouts) x (job's rollouts), 2 min 40 s for 2,295
    // val rollouts in a job of 430,000, with every instance's start waiting (PostgreSQL's planner
    // avoided it: 12 s). An index on exactly what the two searches compare makes each a few rows; it
    // lives only inside this migration's transaction and changes nothing it decides.
    await db.schema.createIndex(SEED_LOOKUP).on('rollouts').columns(['job_id', 'split', 'seed', 'candidate_id']).execute();
    const dupBootstrap = await sql<{ job_id: string; id: string }>`
      select r.job_id, r.id from rollouts r
      where r.split = 'bootstrap' and r.seed is not null and exists (
        select 1 from rollouts e where e.job_id = r.job_id and e.split = 'bootstrap' and e.seed = r.seed
          and (e.created_at < r.created_at or (e.created_at = r.created_at and e.id < r.id)))`.execute(db);
    for (const r of dupBootstrap.rows) {
      await sql`update rollouts set split = 'online' where job_id = ${r.job_id} and id = ${r.id}`.execute(db);
      await sql`update rewards set split = 'online' where job_id = ${r.job_id} and rollout_id = ${r.id}`.execute(db);
    }

    const dupVal = await sql<{ job_id: string; id: string; candidate_id: string }>`
      select r.job_id, r.id, r.candidate_id from rollouts r
      where r.split = 'val' and r.seed is not null and exists (
        select 1 from rollouts e where e.job_id = r.job_id and e.split = 'val' and e.candidate_id = r.candidate_id and e.seed = r.seed
          and (e.created_at < r.created_at or (e.created_at = r.created_at and e.id < r.id)))`.execute(db);
    const touched = new Map<string, { jobId: string; candidateId: string }>();
    for (const r of dupVal.rows) {
      await sql`update rollouts set seed = null where job_id = ${r.job_id} and id = ${r.id}`.execute(db);
      await sql`update rewards set seed = null where job_id = ${r.job_id} and rollout_id = ${r.id}`.execute(db);
      touched.set(`${r.job_id}\u0000${r.candidate_id}`, { jobId: r.job_id, candidateId: r.candidate_id });
    }
    for (const { jobId, candidateId } of touched.values()) await recomputeValStats(db, jobId, candidateId);

    await db.schema.dropIndex(SEED_LOOKUP).execute();

    await db.schema.createIndex('rollouts_bootstrap_seed').on('rollouts').columns(['job_id', 'seed']).unique()
      .where(sql.ref('split'), '=', 'bootstrap').execute();
    await db.schema.createIndex('rollouts_val_pair').on('rollouts').columns(['job_id', 'candidate_id', 'seed']).unique()
      .where(sql.ref('split'), '=', 'val').execute();

    await sql`update candidates set dispatches = (
      select count(*) from rollouts r where r.job_id = candidates.job_id and r.candidate_id = candidates.id)`.execute(db);
    await sql`update jobs set
      rollout_count = (select count(*) from rollouts r where r.job_id = jobs.id),
      reward_count = (select count(*) from rewards w where w.job_id = jobs.id and w.split <> 'monitor')`.execute(db);
  },
};

/** The candidate's val moments from its val rewards that still carry a seed (Welford, in arrival order). */
async function recomputeValStats(db: Kysely<unknown>, jobId: string, candidateId: string): Promise<void> {
  const rows = await sql<{ reward: number | string }>`
    select reward from rewards where job_id = ${jobId} and candidate_id = ${candidateId} and split = 'val' and seed is not null
    order by created_at, rollout_id`.execute(db);
  let n = 0;
  let mean = 0;
  let m2 = 0;
  for (const row of rows.rows) {
    const x = Number(row.reward);
    n += 1;
    const delta = x - mean;
    mean += delta / n;
    m2 += delta * (x - mean);
  }
  await sql`update candidates set val_n = ${n}, val_mean = ${mean}, val_m2 = ${m2}
    where job_id = ${jobId} and id = ${candidateId}`.execute(db);
}
