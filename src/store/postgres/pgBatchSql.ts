import { FINAL_STATUSES } from '../types.js';
import { MAX_RECORDED_CALLS_PER_ROLLOUT } from '../hotPath.js';

/**
 * PostgreSQL's hot-path statements, one per kind of write and per group-commit batch: the batch's
 * items travel as arrays (unnest), and data-modifying CTEs do in one statement, one round trip and
 * one implicit transaction what the portable kysely version did with three to five statements per item. They are
 * sent as named (prepared) statements, so each connection parses and plans them once.
 *
 * Shared shape: `input` is the batch with its position (`ord`); `locked` takes the batch's job rows
 * in id order before anything else is written (the first write reads its row count, which forces it
 * to run first), so concurrent batches of other instances lock in one order and cannot deadlock.
 * Counters are added per job / per candidate from the rows the statement actually inserted, so they
 * always agree with the rows (issue 18). Every CTE sees the same snapshot, so later CTEs take what
 * earlier ones wrote from their RETURNING, never from the tables.
 *
 * PLAN SHAPE. A named statement gets a generic plan after five executions, and that plan is kept
 * until the table is next analyzed. On a new database (a new deployment, every benchmark and test
 * schema) the first executions see rollouts almost empty, so the generic plan joined the batch to
 * rollouts by a hash join over a sequential scan of the whole table, or probed
 * `rollouts_job_created` by job_id alone (a tie on an unanalyzed table): every batch then read all
 * of the job's rollouts. Measured on one backend, batches of 14 rollouts + 14 calls on a fresh
 * schema: 1.2 ms per batch at first, 12 ms after 21,000 rollouts, until autovacuum's analyze (after
 * its naptime, a minute by default) let it re-plan. So the statement that proxied calls wait for
 * reaches existing rollout rows only through ON CONFLICT, which always probes the primary key
 * whatever the planner thinks of the table: flat at about 1 ms per batch in the same test.
 */

const LOCK = `locked as (select id, status, reward_count, deleted_at from jobs where id in (select distinct job_id from items) order by id for update)`;

/**
 * $1, $2: job_id, id of the rollouts to read (one read for a batch of lookups). The key is matched as
 * a row comparison, which only the primary key's index can serve: the plain join's cached generic
 * plan was a hash join over a sequential scan of the whole table (PLAN SHAPE), and `= ` on both
 * columns can still be served by rollouts_job_created through job_id alone. `>=` and `<=` on the
 * pair hold together only for the pair itself (both columns are not null, collations deterministic).
 */
export const GET_ROLLOUTS = `
select r.* from unnest($1::text[], $2::text[]) as k(job_id, id)
join rollouts r on (r.job_id, r.id) >= (k.job_id, k.id) and (r.job_id, r.id) <= (k.job_id, k.id)`;

/**
 * New rollouts and finished calls of one batch, in ONE statement: one round trip, one lock of the
 * job rows, one update of their counters and one commit per batch, where separate statements paid
 * each twice and queued on each other's job-row lock. A call is queued only after its rollout's
 * insert resolved, so a batch never holds a call for a rollout it is inserting itself.
 *
 * Both commit without waiting for the WAL flush, like SQLite's WAL mode with synchronous=NORMAL,
 * which this matches: visible to every instance at once, safe from a miprox crash at once, and
 * from a PostgreSQL crash after at most 3 x wal_writer_delay (600 ms by default). Nobody waits for
 * a call record (the answer already went out); rewards, the acknowledged writes, always wait for
 * the flush (docs/API.md). Without this, every batch held the job row's lock through a 5 ms fsync.
 *
 * Rollouts, $1..$8: job_id, id, candidate_id, seed, split, correlation_id, input_messages, created_at.
 * Calls, $9..$25: job_id, rollout_id, status, output_text, latency_ms, usage, input_messages,
 * created_at, module, variables, failed, the call's usage (calls, prompt, completion, total tokens),
 * how many tool calls its answer held, and whether it was sent its own system text (1/0).
 * Several calls of one rollout in a batch get consecutive call numbers, in batch order; the rollout
 * keeps the last call's outcome and the first input it ever saw.
 * Returns one row: the ords of the rollouts inserted, the ords of those whose job is gone (gone_ord;
 * its calls are left out unsaid: nobody waits for a call record), and for the ids that existed already the
 * stored rollout's candidate, split and seed (a claim needs no read of its own: pgHotPath
 * claimRollout), also when another instance committed the id after this statement's snapshot.
 *
 * A call's rollout always exists here: a call is recorded only after its rollout's insert (or
 * claim) committed, and rollouts are deleted only with their job (retention clears their text only).
 * That is what lets the call's update of its rollout be an upsert that always conflicts (PLAN SHAPE);
 * its placeholder candidate and split are stored only for a call that ends while its deleted job's
 * rows are being removed (store/jobPurge.ts), and that row goes with the rest of the job.
 */
export const WRITE_ROLLOUTS_AND_CALLS = `
with items as (
  select * from unnest($1::text[], $2::text[], $3::text[], $4::int[], $5::text[], $6::text[], $7::text[], $8::text[])
    with ordinality as t(job_id, id, candidate_id, seed, split, correlation_id, input_messages, created_at, ord)
),
call_items as (
  select * from unnest($9::text[], $10::text[], $11::text[], $12::text[], $13::float8[], $14::text[], $15::text[], $16::text[],
    $17::text[], $18::text[], $19::int[], $20::int8[], $21::int8[], $22::int8[], $23::int8[], $24::int[], $25::int[])
    with ordinality as t(job_id, rollout_id, status, output_text, latency_ms, usage, input_messages, created_at,
      module, variables, failed, u_calls, u_prompt, u_completion, u_total, tool_calls, own_system_text, ord)
),
locked as (
  select id from jobs where id in (select job_id from items union select job_id from call_items) and deleted_at is null order by id for update
),
no_flush_wait as (select set_config('synchronous_commit', 'off', true) as v),
-- A job whose row is gone (deleted and removed, store/jobPurge.ts) is not locked: its items are left
-- out (and named in gone_ord) instead of failing the whole batch on the foreign key, after which every
-- item was run again alone, one round trip each (pgHotPath commit). So is a job marked deleted whose
-- rows are still being removed (FOR UPDATE re-checks deleted_at on the latest row): another
-- instance's cache may still hold it for up to 1 s, and a write there re-created rollouts the purge
-- had removed (a call's placeholder row restarting the call count at a seq already recorded, a
-- duplicate-key error; a known rollout id claimed afresh with another candidate).
uniq as (select distinct on (job_id, id) * from items where job_id in (select id from locked) order by job_id, id, ord),
ins as (
  insert into rollouts (job_id, id, candidate_id, seed, split, correlation_id, status, input_messages, output_text, latency_ms,
    usage, call_count, reward, created_at, updated_at)
  select job_id, id, candidate_id, seed, split, correlation_id, 'dispatched', input_messages, null, null, null, 0, null, created_at, created_at
  from uniq where (select count(*) from locked) >= 0 order by ord
  on conflict (job_id, id) do nothing
  returning job_id, id
),
fresh as (select f.* from uniq f join ins using (job_id, id)),
-- The ids the insert skipped (usually none): claimed before. A no-op upsert of each finds the stored
-- row through the arbiter index, committed or not yet visible to this statement's snapshot (another
-- instance's late commit: it waits for it), and returns the stored assignment (see PLAN SHAPE).
skipped as (select u.* from uniq u left join ins using (job_id, id) where ins.id is null),
existing as (
  insert into rollouts as r (job_id, id, candidate_id, seed, split, correlation_id, status, created_at, updated_at)
  select job_id, id, candidate_id, seed, split, correlation_id, 'dispatched', created_at, created_at from skipped
  on conflict (job_id, id) do update set candidate_id = r.candidate_id
  returning r.job_id, r.id, r.candidate_id, r.split, r.seed
),
dispatched as (
  update candidates c set dispatches = c.dispatches + x.n
  from (select job_id, candidate_id, count(*) as n from fresh group by job_id, candidate_id) x
  where c.job_id = x.job_id and c.id = x.candidate_id
  returning 1
),
per as (
  select job_id, rollout_id, count(*) as n, max(ord) as last,
    (array_agg(input_messages order by ord) filter (where input_messages is not null))[1] as first_input
  from call_items where job_id in (select id from locked) group by job_id, rollout_id
),
-- An upsert that always conflicts: the rollout exists (see above), so the row is found through the
-- arbiter index whatever the plan (PLAN SHAPE); the inserted values are never stored.
upd as (
  insert into rollouts as r (job_id, id, candidate_id, split, status, output_text, latency_ms, usage, call_count, input_messages, created_at, updated_at)
  select p.job_id, p.rollout_id, '', '', l.status, l.output_text, l.latency_ms, l.usage, p.n, p.first_input, l.created_at, l.created_at
  from per p join call_items l on l.ord = p.last
  where (select count(*) from locked) >= 0
  on conflict (job_id, id) do update set status = excluded.status, output_text = excluded.output_text, latency_ms = excluded.latency_ms,
    usage = excluded.usage, call_count = r.call_count + excluded.call_count, input_messages = coalesce(r.input_messages, excluded.input_messages),
    updated_at = excluded.updated_at
  returning r.job_id, r.id, r.call_count
),
calls as (
  insert into rollout_calls (job_id, rollout_id, seq, module, input_messages, variables, output_text, latency_ms, usage, failed, created_at, tool_calls, own_system_text)
  select * from (
    select i.job_id, i.rollout_id, u.call_count - p.n + row_number() over (partition by i.job_id, i.rollout_id order by i.ord) as seq,
      i.module, i.input_messages, i.variables, i.output_text, i.latency_ms, i.usage, i.failed, i.created_at, i.tool_calls, i.own_system_text
    from call_items i join per p on p.job_id = i.job_id and p.rollout_id = i.rollout_id join upd u on u.job_id = i.job_id and u.id = i.rollout_id
  ) numbered where numbered.seq <= ${MAX_RECORDED_CALLS_PER_ROLLOUT} -- later calls are counted (call_count), not recorded
  returning 1
),
dispatches as (select job_id, count(*) as n, max(created_at) as now from fresh group by job_id),
spend as (
  select i.job_id, sum(i.u_calls) as c, sum(i.u_prompt) as p, sum(i.u_completion) as o, sum(i.u_total) as t
  from call_items i join upd u on u.job_id = i.job_id and u.id = i.rollout_id group by i.job_id
),
counted as (
  -- One update per job row: a row updated by two CTEs of one statement keeps only one of the changes.
  update jobs j set rollout_count = j.rollout_count + coalesce(x.n, 0), updated_at = coalesce(x.now, j.updated_at),
    policy_calls = j.policy_calls + coalesce(x.c, 0), policy_prompt_tokens = j.policy_prompt_tokens + coalesce(x.p, 0),
    policy_completion_tokens = j.policy_completion_tokens + coalesce(x.o, 0), policy_total_tokens = j.policy_total_tokens + coalesce(x.t, 0)
  from (
    select coalesce(d.job_id, s.job_id) as job_id, d.n, d.now, s.c, s.p, s.o, s.t from dispatches d full join spend s on s.job_id = d.job_id
  ) x
  where j.id = x.job_id and (x.n is not null or x.c <> 0 or x.p <> 0 or x.o <> 0 or x.t <> 0)
  returning 1
)
select (select array_agg(ord) from fresh) as inserted,
  (select array_agg(s.ord order by s.ord) from skipped s join existing e using (job_id, id)) as existing_ord,
  (select array_agg(e.candidate_id order by s.ord) from skipped s join existing e using (job_id, id)) as existing_candidate,
  (select array_agg(e.split order by s.ord) from skipped s join existing e using (job_id, id)) as existing_split,
  (select array_agg(e.seed order by s.ord) from skipped s join existing e using (job_id, id)) as existing_seed,
  (select array_agg(ord) from items where job_id not in (select id from locked)) as gone_ord,
  (select v from no_flush_wait) as sync`;

/** Batch moments of one split kind, merged into the row's (Chan et al.'s parallel Welford). */
function merge(p: 'online' | 'val' | 'monitor', k: string): string {
  const n = `${k}_n`;
  const mean = `${k}_mean`;
  const m2 = `${k}_m2`;
  return `${p}_n = c.${p}_n + a.${n},
    ${p}_mean = case when a.${n} = 0 then c.${p}_mean else c.${p}_mean + (a.${mean} - c.${p}_mean) * a.${n}::float8 / (c.${p}_n + a.${n}) end,
    ${p}_m2 = case when a.${n} = 0 then c.${p}_m2
      else c.${p}_m2 + a.${m2} + (a.${mean} - c.${p}_mean) * (a.${mean} - c.${p}_mean) * c.${p}_n::float8 * a.${n} / (c.${p}_n + a.${n}) end`;
}

function moments(k: string, split: string): string {
  const f = `filter (where kind = '${split}')`;
  return `count(*) ${f} as ${k}_n, coalesce(avg(reward) ${f}, 0) as ${k}_mean, coalesce(var_pop(reward) ${f} * count(*) ${f}, 0) as ${k}_m2,
    coalesce(bool_and(reward >= 0 and reward <= 1) ${f}, true) as ${k}_unit`;
}

/**
 * $1..$15: job_id, rollout_id, candidate_id, reward, split, seed, metadata, created_at, the
 * event's type, message and data, feedback and feedback_by_module, whether the rollout row is
 * stored (NewReward.rolloutStored: true or false, never unknown here), and the job's max_rollouts
 * (null: none). The split is decided here, under the job row's lock (FOR UPDATE reads the latest
 * committed row): `monitor` for a job that has ended, or for a reward past max_rollouts counting the
 * batch's earlier ones in order (hotPath.ts `rewardAfterEnd`, the same rule on SQLite).
 * Returns, per newly stored reward, its ord, the split stored, the job row after the
 * batch (as JSON, on the first row of each job only: it carries the config and dataset summary) and
 * the candidate's moments after the batch. A duplicate returns nothing here
 * (the caller reads what is stored).
 */
export const RECORD_REWARDS = `
with items as (
  select * from unnest($1::text[], $2::text[], $3::text[], $4::float8[], $5::text[], $6::int[], $7::text[], $8::text[],
    $9::text[], $10::text[], $11::text[], $12::text[], $13::text[], $14::bool[], $15::int[])
    with ordinality as t(job_id, rollout_id, candidate_id, reward, split, seed, metadata, created_at, event_type, message, data,
      feedback, feedback_by_module, rollout_stored, max_rewards, ord)
),
${LOCK},
first_of_id as (select distinct on (job_id, rollout_id) * from items order by job_id, rollout_id, ord),
uniq as (
  select f.job_id, f.rollout_id, f.candidate_id, f.reward,
    case when l.status in (${FINAL_STATUSES.map((s) => `'${s}'`).join(', ')}) then 'monitor'
      when f.split <> 'monitor' and f.max_rewards is not null
        and l.reward_count + count(*) filter (where f.split <> 'monitor') over (partition by f.job_id order by f.ord) > f.max_rewards then 'monitor'
      else f.split end as split,
    f.seed, f.metadata, f.created_at, f.event_type, f.message, f.data, f.feedback, f.feedback_by_module, f.rollout_stored, f.ord
  -- A job deleted since the caller's lookup takes no reward (pgHotPath: duplicateOf says so).
  from first_of_id f join locked l on l.id = f.job_id and l.deleted_at is null
),
ins as (
  insert into rewards (job_id, rollout_id, candidate_id, reward, split, seed, metadata, created_at, feedback, feedback_by_module)
  select job_id, rollout_id, candidate_id, reward, split, seed, metadata, created_at, feedback, feedback_by_module
  from uniq where (select count(*) from locked) >= 0 order by ord
  on conflict (job_id, rollout_id) do nothing
  returning job_id, rollout_id
),
fresh as (
  select f.*, case when f.split in ('val', 'monitor') then f.split else 'online' end as kind
  from uniq f join ins using (job_id, rollout_id)
),
agg as (
  select job_id, candidate_id, ${moments('o', 'online')}, ${moments('v', 'val')}, ${moments('m', 'monitor')}
  from fresh group by job_id, candidate_id
),
cand as (
  update candidates c set ${merge('online', 'o')},
    unit_rewards = case when a.o_unit then c.unit_rewards else 0 end,
    ${merge('val', 'v')},
    ${merge('monitor', 'm')},
    monitor_unit = case when a.m_unit then c.monitor_unit else 0 end
  from agg a where c.job_id = a.job_id and c.id = a.candidate_id
  returning c.job_id, c.id, c.online_n, c.online_mean, c.online_m2, c.unit_rewards, c.val_n, c.val_mean, c.val_m2,
    c.monitor_n, c.monitor_mean, c.monitor_m2, c.monitor_unit
),
-- The rollout's reward, as an upsert that always conflicts: only rewards whose rollout row is stored
-- come here, so the row is found through the arbiter index whatever the cached plan thinks of the
-- table (PLAN SHAPE, above; an UPDATE ... FROM here probed rollouts_job_created by job id alone and
-- read all of the job's rollouts per reward until the first analyze). The inserted values are never
-- stored; a reward without a rollout record (candidate_id only) updates no rollout.
rewarded as (
  insert into rollouts as r (job_id, id, candidate_id, split, status, reward, created_at, updated_at)
  select job_id, rollout_id, '', '', 'dispatched', reward, created_at, created_at from fresh where rollout_stored
  on conflict (job_id, id) do update set reward = excluded.reward, updated_at = excluded.updated_at
  returning 1
),
per_job as (
  select job_id, count(*) filter (where kind <> 'monitor') as rc, count(*) filter (where kind = 'online') as rsp,
    count(*) as ev, max(created_at) as now
  from fresh group by job_id
),
j as (
  update jobs set reward_count = jobs.reward_count + x.rc, rewards_since_proposal = jobs.rewards_since_proposal + x.rsp,
    event_seq = jobs.event_seq + x.ev, updated_at = x.now
  from per_job x where jobs.id = x.job_id
  returning jobs.*, x.ev as batch_events
),
evs as (
  insert into events (job_id, seq, event_type, message, data, created_at)
  select n.job_id, j.event_seq - j.batch_events + row_number() over (partition by n.job_id order by n.ord), n.event_type, n.message,
    -- The split decided above (hotPath.ts withStoredSplit, as on SQLite).
    case when n.data::jsonb ? 'split' then jsonb_set(n.data::jsonb, '{split}', to_jsonb(n.split))::text else n.data end, n.created_at
  from fresh n join j on j.id = n.job_id
  returning 1
)
select n.ord, n.job_id, n.split,
  case when row_number() over (partition by n.job_id order by n.ord) = 1 then to_jsonb(j) - 'batch_events' end as job,
  to_jsonb(c) as moments
from fresh n join j on j.id = n.job_id left join cand c on c.job_id = n.job_id and c.id = n.candidate_id`;
