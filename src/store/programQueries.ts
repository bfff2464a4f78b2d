import type { Kysely, Transaction } from 'kysely';
import { discoveredModuleName } from '../optimizer/core/modules.js';
import { framingModule } from '../optimizer/core/templateHint.js';
import type { Database } from './schema.js';
import { toModule, toRolloutCall } from './rows.js';
import { appendEventTx, type Db, type LockJobs } from './statements.js';
import type { CallSelection, ModuleRecord, NewEvent, RolloutCallRecord } from './types.js';

/**
 * The program's statements (modules, discovery, unmatched prompts, per-call records): portable SQL
 * for both databases, kept beside KyselyStore so that file stays about jobs, candidates and rewards.
 */


export async function insertModules(trx: Db, jobId: string, modules: readonly { name: string; template: string }[], origin: ModuleRecord['origin'], now: string): Promise<void> {
  for (const [ordinal, m] of modules.entries()) {
    await trx.insertInto('modules').values({ job_id: jobId, name: m.name, template: m.template, ordinal, origin, created_at: now }).execute();
  }
}

export async function listModules(db: Db, jobId: string): Promise<ModuleRecord[]> {
  const rows = await db.selectFrom('modules').selectAll().where('job_id', '=', jobId).orderBy('ordinal').execute();
  return rows.map(toModule);
}

export async function discoverModule(
  db: Kysely<Database>, lockJobs: LockJobs, jobId: string, m: { name: string | null; template: string; max: number }, now: string,
): Promise<ModuleRecord[]> {
  return db.transaction().execute(async (trx) => {
    // Serialises discovery per job: two instances seeing the same new text add one module.
    await lockJobs(trx, [jobId]);
    const existing = await listModules(trx, jobId);
    const same = existing.some((x) => (m.name !== null ? x.name === m.name : x.template === m.template));
    if (same || existing.length >= m.max) return existing;
    const name = m.name ?? discoveredModuleName(existing);
    const ordinal = existing.reduce((hi, x) => Math.max(hi, x.ordinal + 1), 0);
    await trx.insertInto('modules').values({ job_id: jobId, name, template: m.template, ordinal, origin: 'discovered', created_at: now }).execute();
    // The first module's text is the job's baseline (kept for clients of the one-prompt API).
    await trx.updateTable('jobs').set({ baseline_instruction: m.template }).where('id', '=', jobId).where('baseline_instruction', 'is', null).execute();
    if (existing.length === 0) {
      await trx.updateTable('candidates').set({ instruction: m.template }).where('job_id', '=', jobId).where('parent_id', 'is', null).execute();
    }
    const similar = framingModule(existing, m.template);
    const hint = similar === null ? '' : `; it shares its start and end (${similar.shared} characters) with module ${similar.name}: `
      + 'if the system text carries per-request content, declare the modules with templates ({placeholders}), '
      + `or each request's text becomes a module until mipro.max_modules (${m.max}) and later calls pass through unoptimized`;
    await appendEventTx(trx, jobId, {
      eventType: 'mipro.module.discovered',
      message: `module ${name} discovered from traffic (${m.template.length} characters of system text)${hint}`,
      data: { module: name, length: m.template.length, named_by_caller: m.name !== null, similar_to: similar?.name ?? null },
    }, now);
    return listModules(trx, jobId);
  });
}

/**
 * Distinct unmatched texts of a job that get a `mipro.module.unmatched` event each. An app whose
 * system text carries per-request content and no longer matches its template (a drifted prompt)
 * sends a new text with every call: without a cap its event log became one event per call, burying
 * the rewards and proposals. Past the cap the texts are still counted (`unmatched_prompts`).
 */
export const MAX_UNMATCHED_EVENTS = 100;

/**
 * `event` may be a function: it is called only when the event is written (for the job's first
 * MAX_UNMATCHED_EVENTS + 1 texts), so a caller past the cap does not build a message nobody reads.
 * `pastCap` holds the jobs this instance has seen past the cap: texts are only ever added, so such
 * a job stays past it, and a new text is then one insert (no lock, no count, no transaction), with
 * the same outcome as the full path (counted, no event). A drifted prompt whose per-request content
 * makes every call a new text costs that on every call (bench:proxy --programs, "no match").
 */
export async function recordUnmatched(
  db: Kysely<Database>, lockJobs: LockJobs, jobId: string, textHash: string, event: NewEvent | (() => NewEvent), now: string, pastCap: Set<string>,
): Promise<boolean> {
  if (pastCap.has(jobId)) return insertUnmatched(db, jobId, textHash, now);
  let past = false;
  const inserted = await db.transaction().execute(async (trx) => {
    // Below the cap, the job's lock comes first (before the insert, as every writer takes it): the
    // texts of other instances' open transactions are not counted, so two of them each counted 100
    // (both wrote an event, none the last one) or 101 (two last ones). Under the lock each counts
    // the texts of every earlier holder. With the cap's texts already there, this one is past it
    // whatever the others do: no wait.
    const near = (await unmatchedUpToCap(trx, jobId)) <= MAX_UNMATCHED_EVENTS;
    if (!near) past = true;
    if (near) await lockJobs(trx, [jobId]);
    if (!(await insertUnmatched(trx, jobId, textHash, now))) return false;
    const n = near ? await unmatchedUpToCap(trx, jobId) : MAX_UNMATCHED_EVENTS + 2;
    // The last event is written (or was already): every later text is past the cap, once this commits.
    if (n > MAX_UNMATCHED_EVENTS) past = true;
    const built = () => (typeof event === 'function' ? event() : event);
    if (n <= MAX_UNMATCHED_EVENTS) await appendEventTx(trx, jobId, built(), now);
    else if (n === MAX_UNMATCHED_EVENTS + 1) {
      const e = built();
      await appendEventTx(trx, jobId, {
        ...e,
        message: `${e.message}; this is the last such event: ${n} distinct texts have matched no module, and later ones are only counted (the job's unmatched_prompts)`,
        data: { ...e.data, last_reported: true },
      }, now);
    }
    return true;
  });
  // Only after the commit: a rolled-back last text leaves the last event to whoever adds one next.
  if (past) pastCap.add(jobId);
  return inserted;
}

/** True when the text is new to the job. */
async function insertUnmatched(db: Db, jobId: string, textHash: string, now: string): Promise<boolean> {
  const res = await db.insertInto('unmatched_prompts').values({ job_id: jobId, text_hash: textHash, created_at: now })
    .onConflict((oc) => oc.columns(['job_id', 'text_hash']).doNothing()).executeTakeFirst();
  return Number(res.numInsertedOrUpdatedRows ?? 0) > 0;
}

/** The job's unmatched texts counted up to just past the cap: a read of at most that many index entries, whatever the job has. */
async function unmatchedUpToCap(trx: Transaction<Database>, jobId: string): Promise<number> {
  const counted = await trx.selectFrom((eb) => eb.selectFrom('unmatched_prompts').select('text_hash').where('job_id', '=', jobId)
    .limit(MAX_UNMATCHED_EVENTS + 2).as('first'))
    .select((eb) => eb.fn.countAll<number | string>().as('n')).executeTakeFirstOrThrow();
  return Number(counted.n);
}

export async function rolloutCalls(db: Db, jobId: string, rolloutIds: readonly string[], only: CallSelection = {}): Promise<RolloutCallRecord[]> {
  if (rolloutIds.length === 0) return [];
  const query = (ids: readonly string[], fromEnd: boolean) => {
    let q = db.selectFrom('rollout_calls')
      .select(['rollout_id', 'seq', 'module', 'input_messages', 'variables', 'output_text', 'tool_calls', 'failed', 'created_at', 'own_system_text'])
      .where('job_id', '=', jobId).where('rollout_id', 'in', [...ids]);
    if (only.module !== undefined) q = q.where('module', '=', only.module);
    if (only.answered) q = q.where('failed', '=', 0);
    return q.orderBy('rollout_id').orderBy('seq', fromEnd ? 'desc' : 'asc');
  };
  // A limit per rollout: one small query each (the proposer's grounding reads a few calls of a few rollouts).
  const limit = only.perRollout;
  const fromEnd = only.fromEnd === true;
  const rows = limit === undefined
    ? await query(rolloutIds, false).execute()
    : (await Promise.all(rolloutIds.map(async (id) => {
      const page = await query([id], fromEnd).limit(limit).execute();
      return fromEnd ? page.reverse() : page;
    }))).flat();
  return rows.map(toRolloutCall);
}

/** The module of each call of these rollouts, in call order (seed-evals show it beside each reward). */
export async function callModules(db: Db, jobId: string, rolloutIds: readonly string[], only: { answered?: boolean } = {}): Promise<Map<string, (string | null)[]>> {
  const out = new Map<string, (string | null)[]>();
  if (rolloutIds.length === 0) return out;
  let q = db.selectFrom('rollout_calls').select(['rollout_id', 'module']).where('job_id', '=', jobId)
    .where('rollout_id', 'in', [...rolloutIds]);
  if (only.answered) q = q.where('failed', '=', 0);
  const rows = await q.orderBy('rollout_id').orderBy('seq').execute();
  for (const r of rows) out.set(r.rollout_id, [...(out.get(r.rollout_id) ?? []), r.module]);
  return out;
}

/**
 * Every module of the job that has been called, by the mean position (first call = 1) of its own
 * most recent calls within their rollouts; ties in declaration order. Each module's calls are read
 * on their own: a module called rarely (a fallback called once in thousands of calls) fell out of a
 * window of the job's recent calls, and left out here it was never proposed for. One range of the
 * `rollout_calls_module` index per module (migration 0013), never a read of the job's every call.
 */
export async function moduleCallOrder(db: Db, jobId: string): Promise<string[]> {
  const modules = await listModules(db, jobId);
  const positions = await Promise.all(modules.map(async (m) => ({ name: m.name, position: await meanCallPosition(db, jobId, m.name) })));
  const called = positions.flatMap(({ name, position }) => (position === null ? [] : [{ name, position }]));
  return called.sort((a, b) => a.position - b.position).map((p) => p.name);
}

/** Recent calls of one module read for its position: enough to see where it sits in a rollout. */
const RECENT_CALLS_PER_MODULE = 1000;

/** The query behind a module's mean position in its recent calls (exported for its plan's test). */
export function meanCallPositionQuery(db: Db, jobId: string, module: string) {
  const recent = db.selectFrom('rollout_calls').select('seq').where('job_id', '=', jobId).where('module', '=', module)
    .orderBy('created_at', 'desc').limit(RECENT_CALLS_PER_MODULE).as('recent');
  return db.selectFrom(recent).select((eb) => eb.fn.avg<number | string | null>('recent.seq').as('position'));
}

/** A module's mean position in its recent calls; null when it has none. */
async function meanCallPosition(db: Db, jobId: string, module: string): Promise<number | null> {
  const row = await meanCallPositionQuery(db, jobId, module).executeTakeFirst();
  return row?.position === null || row?.position === undefined ? null : Number(row.position);
}
