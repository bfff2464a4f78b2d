import type { Kysely } from 'kysely';
import type { Database } from './schema.js';
import { TRAINING_SPLITS, type DemoSourceCall, type RolloutFeedback, type Split } from './types.js';

/**
 * Reads behind demonstrations and textual feedback (SPEC.md). Both keep val and monitor rollouts
 * out in the query itself: a demo or a feedback text from a val rollout would carry a held-out
 * input into what the optimizer builds (the core checks the split again).
 */

/** Calls of one module in rewarded training rollouts at or above the threshold, best first, with their variables. */
export async function demoSourceCalls(db: Kysely<Database>, jobId: string, module: string, opts: { minReward: number; limit: number }): Promise<DemoSourceCall[]> {
  const rows = await db.selectFrom('rollout_calls as c')
    .innerJoin('rollouts as r', (j) => j.onRef('r.job_id', '=', 'c.job_id').onRef('r.id', '=', 'c.rollout_id'))
    .select(['c.rollout_id', 'r.split', 'r.reward', 'c.input_messages', 'c.output_text', 'c.failed', 'c.tool_calls', 'c.variables'])
    .where('c.job_id', '=', jobId).where('c.module', '=', module).where('c.failed', '=', 0).where('c.tool_calls', '=', 0)
    .where('c.output_text', 'is not', null).where('c.input_messages', 'is not', null)
    .where('r.split', 'in', TRAINING_SPLITS).where('r.reward', 'is not', null).where('r.reward', '>=', opts.minReward)
    .orderBy('r.reward', 'desc').orderBy('c.created_at', 'desc').limit(opts.limit).execute();
  return rows.map((r) => ({
    rolloutId: r.rollout_id,
    split: r.split as Split,
    reward: r.reward === null ? null : Number(r.reward),
    inputMessages: r.input_messages === null ? null : (JSON.parse(r.input_messages) as unknown[]),
    outputText: r.output_text,
    failed: Number(r.failed) === 1,
    toolCalls: Number(r.tool_calls),
    variables: r.variables === null ? null : (JSON.parse(r.variables) as Record<string, string>),
  }));
}

/**
 * Whether any recorded call of the module in the job (any split, any reward) answered with tool
 * calls: such a module runs a tool loop and gets no demos (core/demos.ts `buildDemoPool`).
 */
export async function moduleMadeToolCalls(db: Kysely<Database>, jobId: string, module: string): Promise<boolean> {
  const row = await db.selectFrom('rollout_calls').select('seq')
    .where('job_id', '=', jobId).where('module', '=', module).where('tool_calls', '>', 0).limit(1).executeTakeFirst();
  return row !== undefined;
}

/**
 * How many of the job's most recent training rewards below `below` (at most `limit`) named each
 * module in their feedback_by_module: the app's own blame, for the module a proposal changes.
 */
export async function moduleBlame(db: Kysely<Database>, jobId: string, opts: { below: number; limit: number }): Promise<Record<string, number>> {
  const rows = await db.selectFrom('rewards').select('feedback_by_module')
    .where('job_id', '=', jobId).where('split', 'in', TRAINING_SPLITS).where('feedback_by_module', 'is not', null)
    .where('reward', '<', opts.below).orderBy('created_at', 'desc').limit(opts.limit).execute();
  const out: Record<string, number> = {};
  for (const r of rows) {
    for (const [module, text] of Object.entries(JSON.parse(r.feedback_by_module ?? '{}') as Record<string, string>)) {
      if (text.trim()) out[module] = (out[module] ?? 0) + 1;
    }
  }
  return out;
}

export async function rolloutFeedback(db: Kysely<Database>, jobId: string, rolloutIds: readonly string[]): Promise<Map<string, RolloutFeedback>> {
  const out = new Map<string, RolloutFeedback>();
  if (rolloutIds.length === 0) return out;
  const rows = await db.selectFrom('rewards').select(['rollout_id', 'feedback', 'feedback_by_module'])
    .where('job_id', '=', jobId).where('rollout_id', 'in', [...rolloutIds]).where('split', 'in', TRAINING_SPLITS)
    .where((eb) => eb.or([eb('feedback', 'is not', null), eb('feedback_by_module', 'is not', null)])).execute();
  for (const r of rows) {
    out.set(r.rollout_id, {
      feedback: r.feedback,
      byModule: r.feedback_by_module === null ? null : (JSON.parse(r.feedback_by_module) as Record<string, string>),
    });
  }
  return out;
}
