import { type Kysely, type Migration, type MigrationProvider, type MigrationResult, type MigrationResultSet, Migrator, sql } from 'kysely';
import { m0005MissingRewards, m0006RewardRange } from './migrationsRewards.js';
import { m0011ClusterRaces } from './migrationsCluster.js';
import { executedMigrationNames } from './migrationTable.js';
import { adoptRenamedMigrations } from './renamedMigrations.js';

/**
 * Versioned migrations, applied at start by kysely's Migrator (which keeps its own table and a lock,
 * so several instances starting together on one PostgreSQL database apply each migration once).
 * Never edit a released migration: add the next one.
 */
const m0001: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema.createTable('tenants')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('created_at', 'text', (c) => c.notNull())
      .execute();
    await db.schema.createTable('api_keys')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id'))
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('key_hash', 'text', (c) => c.notNull().unique())
      .addColumn('prefix', 'text', (c) => c.notNull())
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('revoked_at', 'text')
      .execute();
    await db.schema.createTable('jobs')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id'))
      .addColumn('system_id', 'text', (c) => c.notNull().unique())
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('config', 'text', (c) => c.notNull())
      .addColumn('baseline_instruction', 'text')
      .addColumn('correlation_id', 'text')
      .addColumn('metadata', 'text', (c) => c.notNull())
      .addColumn('dataset_summary', 'text')
      .addColumn('event_seq', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('proposal_seq', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('rollout_count', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('reward_count', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('rewards_since_proposal', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('best_candidate_id', 'text')
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('updated_at', 'text', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('jobs_tenant_created').on('jobs').columns(['tenant_id', 'created_at', 'id']).execute();
    await db.schema.createTable('candidates')
      .addColumn('job_id', 'text', (c) => c.notNull().references('jobs.id'))
      .addColumn('id', 'text', (c) => c.notNull())
      .addColumn('parent_id', 'text')
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('instruction', 'text', (c) => c.notNull())
      .addColumn('tip', 'text')
      .addColumn('proposal_id', 'text')
      .addColumn('ordinal', 'integer', (c) => c.notNull())
      .addColumn('dispatches', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('online_n', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('online_mean', 'double precision', (c) => c.notNull().defaultTo(0))
      .addColumn('online_m2', 'double precision', (c) => c.notNull().defaultTo(0))
      .addColumn('unit_rewards', 'integer', (c) => c.notNull().defaultTo(1))
      .addColumn('val_n', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('val_mean', 'double precision', (c) => c.notNull().defaultTo(0))
      .addColumn('val_m2', 'double precision', (c) => c.notNull().defaultTo(0))
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('retired_at', 'text')
      .addPrimaryKeyConstraint('candidates_pk', ['job_id', 'id'])
      .execute();
    await db.schema.createIndex('candidates_id').on('candidates').column('id').execute();
    await db.schema.createTable('rollouts')
      .addColumn('job_id', 'text', (c) => c.notNull().references('jobs.id'))
      .addColumn('id', 'text', (c) => c.notNull())
      .addColumn('candidate_id', 'text', (c) => c.notNull())
      .addColumn('seed', 'integer')
      .addColumn('split', 'text', (c) => c.notNull())
      .addColumn('correlation_id', 'text')
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('input_messages', 'text')
      .addColumn('output_text', 'text')
      .addColumn('latency_ms', 'double precision')
      .addColumn('usage', 'text')
      .addColumn('call_count', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('reward', 'double precision')
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('updated_at', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint('rollouts_pk', ['job_id', 'id'])
      .execute();
    await db.schema.createIndex('rollouts_correlation').on('rollouts').columns(['job_id', 'correlation_id', 'created_at']).execute();
    await db.schema.createIndex('rollouts_candidate_reward').on('rollouts').columns(['job_id', 'candidate_id', 'reward']).execute();
    await db.schema.createTable('rewards')
      .addColumn('job_id', 'text', (c) => c.notNull().references('jobs.id'))
      .addColumn('rollout_id', 'text', (c) => c.notNull())
      .addColumn('candidate_id', 'text', (c) => c.notNull())
      .addColumn('reward', 'double precision', (c) => c.notNull())
      .addColumn('split', 'text', (c) => c.notNull())
      .addColumn('seed', 'integer')
      .addColumn('metadata', 'text')
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint('rewards_pk', ['job_id', 'rollout_id'])
      .execute();
    await db.schema.createIndex('rewards_candidate').on('rewards').columns(['job_id', 'candidate_id', 'created_at']).execute();
    await db.schema.createTable('proposals')
      .addColumn('job_id', 'text', (c) => c.notNull().references('jobs.id'))
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('seq', 'integer', (c) => c.notNull())
      .addColumn('parent_id', 'text', (c) => c.notNull())
      .addColumn('tip', 'text', (c) => c.notNull())
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('prompt', 'text', (c) => c.notNull())
      .addColumn('response', 'text')
      .addColumn('error', 'text')
      .addColumn('candidate_ids', 'text', (c) => c.notNull())
      .addColumn('lease_until', 'text', (c) => c.notNull())
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('finished_at', 'text')
      .execute();
    // At most one running proposal per job, enforced by the database: this is the cross-instance lease.
    await db.schema.createIndex('proposals_one_running').on('proposals').column('job_id').unique()
      .where(sql.ref('status'), '=', 'running').execute();
    await db.schema.createTable('events')
      .addColumn('job_id', 'text', (c) => c.notNull().references('jobs.id'))
      .addColumn('seq', 'integer', (c) => c.notNull())
      .addColumn('event_type', 'text', (c) => c.notNull())
      .addColumn('message', 'text', (c) => c.notNull())
      .addColumn('data', 'text', (c) => c.notNull())
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint('events_pk', ['job_id', 'seq'])
      .execute();
  },
};

/**
 * Every proxied call inserts a rollout, and on SQLite a commit costs a write per page it touches. The
 * two secondary indexes of rollouts only serve rows with a correlation id / a reward, so they become
 * partial: a new rollout (no reward yet, usually no correlation id) touches two index pages fewer.
 * Both databases use a partial index when the query's `=` / `is not null` implies its condition.
 */
const m0002: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema.dropIndex('rollouts_correlation').execute();
    await db.schema.dropIndex('rollouts_candidate_reward').execute();
    await db.schema.createIndex('rollouts_correlation').on('rollouts').columns(['job_id', 'correlation_id', 'created_at'])
      .where(sql.ref('correlation_id'), 'is not', null).execute();
    await db.schema.createIndex('rollouts_candidate_reward').on('rollouts').columns(['job_id', 'candidate_id', 'reward'])
      .where(sql.ref('reward'), 'is not', null).execute();
  },
};

/**
 * Programs (SPEC.md, "Programs"): a job has modules, a candidate is one instruction per module, and
 * every call of a rollout is kept with its module. Existing data becomes the one-module program
 * `main`: every job that knows its baseline gets module `main` with that text as its template (a
 * declared module when it came from initial_prompt, a discovered one when it came from traffic);
 * every candidate's instruction becomes its `main`; every rollout's recorded call becomes call 1.
 */
const m0003 = (dialect: Dialect): Migration => ({
  async up(db: Kysely<unknown>) {
    await db.schema.createTable('modules')
      .addColumn('job_id', 'text', (c) => c.notNull().references('jobs.id'))
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('template', 'text', (c) => c.notNull())
      .addColumn('ordinal', 'integer', (c) => c.notNull())
      .addColumn('origin', 'text', (c) => c.notNull())
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint('modules_pk', ['job_id', 'name'])
      .execute();
    await db.schema.createTable('rollout_calls')
      .addColumn('job_id', 'text', (c) => c.notNull().references('jobs.id'))
      .addColumn('rollout_id', 'text', (c) => c.notNull())
      .addColumn('seq', 'integer', (c) => c.notNull())
      .addColumn('module', 'text')
      .addColumn('input_messages', 'text')
      .addColumn('variables', 'text')
      .addColumn('output_text', 'text')
      .addColumn('latency_ms', 'double precision')
      .addColumn('usage', 'text')
      .addColumn('failed', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint('rollout_calls_pk', ['job_id', 'rollout_id', 'seq'])
      .execute();
    // One mipro.module.unmatched event per distinct system text: the hash is the dedupe key.
    await db.schema.createTable('unmatched_prompts')
      .addColumn('job_id', 'text', (c) => c.notNull().references('jobs.id'))
      .addColumn('text_hash', 'text', (c) => c.notNull())
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint('unmatched_prompts_pk', ['job_id', 'text_hash'])
      .execute();
    await db.schema.alterTable('candidates').addColumn('module', 'text').execute();
    await db.schema.alterTable('candidates').addColumn('instructions', 'text', (c) => c.notNull().defaultTo('{}')).execute();
    await db.schema.alterTable('proposals').addColumn('module', 'text').execute();

    const jsonMain = dialect === 'postgres' ? sql`json_build_object('main', instruction)::text` : sql`json_object('main', instruction)`;
    const fromInitialPrompt = sql`case when config like '%"initial_prompt"%' then 'declared' else 'discovered' end`;
    await sql`insert into modules (job_id, name, template, ordinal, origin, created_at)
      select id, 'main', baseline_instruction, 0, ${fromInitialPrompt}, created_at from jobs where baseline_instruction is not null`.execute(db);
    await sql`update candidates set instructions = ${jsonMain}, module = case when parent_id is null then null else 'main' end`.execute(db);
    await sql`update proposals set module = 'main'`.execute(db);
    // A job still waiting for its first call had no candidate: every job now has its baseline from the start.
    await sql`insert into candidates (job_id, id, parent_id, status, instruction, tip, proposal_id, ordinal, dispatches,
        online_n, online_mean, online_m2, unit_rewards, val_n, val_mean, val_m2, created_at, retired_at, module, instructions)
      select id, 'baseline', null, 'active', '', null, null, 0, 0, 0, 0, 0, 1, 0, 0, 0, created_at, null, null, '{}'
      from jobs where baseline_instruction is null`.execute(db);
    await sql`update jobs set best_candidate_id = 'baseline' where best_candidate_id is null`.execute(db);
    await sql`insert into rollout_calls (job_id, rollout_id, seq, module, input_messages, variables, output_text, latency_ms, usage, failed, created_at)
      select job_id, id, 1, 'main', input_messages, null, output_text, latency_ms, usage,
        case when status = 'failed' then 1 else 0 end, updated_at
      from rollouts where call_count > 0`.execute(db);
  },
});

/** After a job ends it keeps serving one candidate (its champion, or what was promoted). */
const m0004: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema.alterTable('jobs').addColumn('served_candidate_id', 'text').execute();
  },
};

/**
 * Token usage per job (SPEC.md, "usage" in job views): counters on the jobs row, added to in the
 * statements that already write each call's record, so reading a job's spend reads one row.
 * Tokens are bigint: a long job's policy traffic can pass 2^31 tokens.
 */
const m0007Usage: Migration = {
  async up(db: Kysely<unknown>) {
    for (const side of ['policy', 'proposer']) {
      await db.schema.alterTable('jobs').addColumn(`${side}_calls`, 'bigint', (c) => c.notNull().defaultTo(0)).execute();
      for (const kind of ['prompt', 'completion', 'total']) {
        await db.schema.alterTable('jobs').addColumn(`${side}_${kind}_tokens`, 'bigint', (c) => c.notNull().defaultTo(0)).execute();
      }
    }
  },
};

/**
 * The guard (mipro.guard): monitored rewards kept as running moments per candidate (the guard looks
 * after every one, so it must not aggregate the rewards table each time), and which candidate the
 * guard tripped for (null: not tripped), which makes the alarm fire once across instances.
 */
const m0008Guard: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema.alterTable('candidates').addColumn('monitor_n', 'integer', (c) => c.notNull().defaultTo(0)).execute();
    await db.schema.alterTable('candidates').addColumn('monitor_mean', 'double precision', (c) => c.notNull().defaultTo(0)).execute();
    await db.schema.alterTable('candidates').addColumn('monitor_m2', 'double precision', (c) => c.notNull().defaultTo(0)).execute();
    await db.schema.alterTable('candidates').addColumn('monitor_unit', 'integer', (c) => c.notNull().defaultTo(1)).execute();
    await db.schema.alterTable('jobs').addColumn('guard_tripped_candidate_id', 'text').execute();
  },
};

/**
 * Demonstrations and textual feedback (SPEC.md): a candidate's demo sets as JSON beside its
 * instructions (every existing candidate has none), and a reward's feedback texts beside it.
 */
const m0010Demos: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema.alterTable('candidates').addColumn('demos', 'text', (c) => c.notNull().defaultTo('{}')).execute();
    await db.schema.alterTable('rewards').addColumn('feedback', 'text').execute();
    await db.schema.alterTable('rewards').addColumn('feedback_by_module', 'text').execute();
  },
};

/**
 * How many tool calls each recorded call's answer held. `output_text` renders them as
 * `name(arguments)` lines for readers of the record (the proposer's reflection, the dashboard), and
 * nothing else told such an answer from plain text: the demo pool took it and the model was shown a
 * tool call as text it had written. Calls recorded earlier count as none (it cannot be known now).
 */
const m0012CallToolCalls: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema.alterTable('rollout_calls').addColumn('tool_calls', 'integer', (c) => c.notNull().defaultTo(0)).execute();
  },
};

/**
 * A job's calls by module, newest last: the order of the program's modules (programQueries.ts
 * `moduleCallOrder`) reads each module's recent calls from one range of it (created_at and seq
 * included, so without a sort or a table read) instead of the job's every call, and the demo
 * pool's read of one module's calls (demoQueries.ts) starts from that module's rows.
 */
const m0013CallModules: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema.createIndex('rollout_calls_module').on('rollout_calls').columns(['job_id', 'module', 'created_at', 'seq']).execute();
  },
};

/**
 * Whether a call was sent its own system text, one its record cannot rebuild: it named its module
 * (header or mipro.module) with a text the template does not match, and the serving candidate kept
 * the module, so the app's text went upstream as sent. The rollout view showed the module's template
 * as the system prompt served. Calls recorded earlier count as rebuilt (it cannot be known now).
 */
const m0014CallOwnSystemText: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema.alterTable('rollout_calls').addColumn('own_system_text', 'integer', (c) => c.notNull().defaultTo(0)).execute();
  },
};

/**
 * Deleting a job (DELETE .../jobs/{id}): the job row is marked first, in one small statement, and
 * from then on no read finds it; its rows go in slices in the background (store/jobPurge.ts), the
 * job row itself last. Null: not deleted.
 */
const m0015JobDeletion: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema.alterTable('jobs').addColumn('deleted_at', 'text').execute();
  },
};

export type Dialect = 'sqlite' | 'postgres';

const migrations = (dialect: Dialect): Record<string, Migration> => ({
  '0001_initial': m0001,
  '0002_partial_rollout_indexes': m0002,
  '0003_programs': m0003(dialect),
  '0004_served_candidate': m0004,
  '0005_missing_rewards': m0005MissingRewards,
  '0006_reward_range': m0006RewardRange,
  '0007_usage_counters': m0007Usage,
  '0008_guard': m0008Guard,
  '0010_demos': m0010Demos,
  '0011_cluster_races': m0011ClusterRaces,
  '0012_call_tool_calls': m0012CallToolCalls,
  '0013_call_modules': m0013CallModules,
  '0014_call_own_system_text': m0014CallOwnSystemText,
  '0015_job_deletion': m0015JobDeletion,
});

/**
 * `schema` (PostgreSQL) keeps kysely's own migration tables in the same schema as ours: without it
 * the Migrator looks them up across schemas, and two schemas migrating at once see each other's lock.
 */
function migratorFor(db: Kysely<unknown>, dialect: Dialect, schema?: string): Migrator {
  const provider: MigrationProvider = { getMigrations: async () => migrations(dialect) };
  return new Migrator({ db, provider, ...(schema ? { migrationTableSchema: schema } : {}) });
}

/** Migrates up to and including `name`: tests build a database as an earlier release left it. */
export async function migrateTo(db: Kysely<unknown>, dialect: Dialect, name: string, schema?: string): Promise<void> {
  const migrator = migratorFor(db, dialect, schema);
  await retryingCatalogRaces(() => migrator.migrateTo(name));
}

export async function migrateToLatest(db: Kysely<unknown>, dialect: Dialect, schema?: string): Promise<void> {
  const migrator = migratorFor(db, dialect, schema);
  await retryingCatalogRaces(async () => {
    // The applied names are read once, for both checks (each had looked the table up and read it).
    const executed = await adoptRenamedMigrations(db, await executedMigrationNames(db, dialect, schema), schema);
    if (await migratedByNewerRelease(migrator, Object.keys(migrations(dialect)), executed)) return {};
    return migrator.migrateToLatest();
  });
}

const CATALOG_RACE_ATTEMPTS = 6;

/**
 * Kysely's migrator checks for its own tables through the dialect's introspector. Kysely's own one
 * (PostgreSQL) reads every schema's columns, and that read fails with "... does not exist" before
 * anything was migrated whenever another session changes a table meanwhile (a schema dropped, a
 * column renamed or dropped); miprox's stores introspect their own schema only
 * (postgres/ownSchemaDialect.ts), and a Kysely built with the plain dialect reads again here. The
 * migrator is idempotent and locked, so reading again is safe.
 * A newer release may also have recorded its migrations between `migratedByNewerRelease` and the
 * migrator's lock (its `miprox migrate` held the lock meanwhile): kysely then calls the database
 * corrupted, and the check, run again, tells a newer release's work from another build's.
 */
async function retryingCatalogRaces(run: () => Promise<MigrationResultSet>): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    let error: unknown;
    let failed: MigrationResult | undefined;
    try {
      const result = await run();
      error = result.error;
      failed = result.results?.find((r) => r.status === 'Error');
    } catch (err) {
      if (err instanceof NewerMigrationsError) throw err;
      error = err;
    }
    if (!error && !failed) return;
    const reason = error instanceof Error ? error.message : String(error ?? failed?.migrationName);
    if (!failed && /does not exist|^corrupted migrations/.test(reason) && attempt < CATALOG_RACE_ATTEMPTS) {
      await new Promise((r) => setTimeout(r, 25 * attempt));
      continue;
    }
    throw new Error(`database migration failed: ${reason}`);
  }
}

/** The database holds migrations this release does not know, and not as a newer release leaves them. */
export class NewerMigrationsError extends Error {}

/**
 * Whether a newer release already migrated this database past this release (a rolling upgrade in
 * progress: docs/deploy.md migrates first, then replaces instances one at a time). Its migrations
 * only add, so an instance of this release that restarts meanwhile works on the database as it is;
 * kysely's Migrator refuses any database holding a migration it does not know ("corrupted
 * migrations"), which kept such an instance, and `miprox migrate` in its unit, from starting at all.
 * Unknown migrations that are not simply later than all of ours, or ours left pending beside them,
 * are not a newer release's work: an error that says so.
 */
async function migratedByNewerRelease(migrator: Migrator, known: readonly string[], executed: readonly string[]): Promise<boolean> {
  const unknown = executed.filter((name) => !known.includes(name)).sort();
  if (unknown.length === 0) return false;
  const last = [...known].sort().at(-1) ?? '';
  const pending = (await migrator.getMigrations()).filter((m) => m.executedAt === undefined).map((m) => m.name);
  if (unknown[0]! > last && pending.length === 0) return true;
  // Named apart: a newer release's migrations (after ours) beside another build's (not after ours)
  // were all said not to come after this release's last, the later ones included.
  const notAfter = unknown.filter((name) => name <= last);
  const after = unknown.filter((name) => name > last);
  throw new NewerMigrationsError(
    pending.length > 0
      ? `database migration failed: the database holds migrations this release does not know (${unknown.join(', ')}) while this release's ${pending.join(', ')} never ran`
        + ': it was migrated by another build of miprox; run that build, or restore the database'
      : `database migration failed: the database holds migrations this release does not know that do not come after this release's last (${last}): ${notAfter.join(', ')}`
        + (after.length > 0 ? ` (and, after it, ${after.join(', ')})` : '')
        + ': it was migrated by another build of miprox; run that build, or restore the database',
  );
}

