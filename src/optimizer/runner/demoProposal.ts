import { newCandidateId, newProposalId } from '../../shared/ids.js';
import type { Rng } from '../../shared/rng.js';
import { demoMinReward } from '../../schemas/jobConfig.js';
import type { CandidateRecord, JobRecord, NewCandidate, ProposalRecord, ProposalSettlement, ProposalStart, Store } from '../../store/types.js';
import { proposalFailedEvent } from '../../store/proposalClosing.js';
import { buildDemoPool, DEMO_POOL_SIZE, demoSetKey, proposeDemoSet, usedTools, withModuleDemos, type Demo } from '../core/demos.js';
import { chooseProposalKind, kindOf, kindStats, type KindChild, type ProposalKind, type KindRecord } from '../core/proposalKind.js';
import { modulePlaceholders, type ProgramModule } from '../core/modules.js';
import { moduleInstruction } from '../core/program.js';

/** The `tip` a demo-set proposal records: no tip applies, and it tells the two kinds apart in listings. */
export const DEMO_PROPOSAL_TIP = 'demos';
/** Rows read for the pool: more than it keeps, since many calls repeat an input. */
const POOL_READ = DEMO_POOL_SIZE * 4;

/**
 * The module's demo pool: its calls in rewarded bootstrap/online rollouts at or above the job's
 * demo threshold (core/demos.ts filters again, deduplicates and bounds). A module whose template has
 * placeholders gets demos that carry their call's values ({context}: the retrieved passage), since
 * each answer was written under them and is injected under another call's.
 */
export async function modulePool(store: Store, job: JobRecord, module: ProgramModule): Promise<Demo[]> {
  return (await readModulePool(store, job, module)).demos;
}

/**
 * The module's demo pool, and whether it is empty because the module runs a tool loop (any of its
 * calls made tool calls or had tool turns in its input: core/demos.ts `usedTools`), which gets no demos.
 */
export async function readModulePool(store: Store, job: JobRecord, module: ProgramModule): Promise<{ demos: Demo[]; usesTools: boolean }> {
  const minReward = demoMinReward(job.config.mipro);
  const [calls, madeToolCalls] = await Promise.all([
    store.demoSourceCalls(job.id, module.name, { minReward, limit: POOL_READ }),
    store.moduleMadeToolCalls(job.id, module.name),
  ]);
  return {
    demos: buildDemoPool(calls, { minReward, placeholders: modulePlaceholders(module, module.template), madeToolCalls }),
    usesTools: madeToolCalls || calls.some(usedTools),
  };
}

/**
 * Instruction or demo-set proposal (core/proposalKind.ts): fixed by the mode, or a Thompson draw
 * between the two from how their children fared online. The pool is read only when demos may be used.
 */
export async function chooseKind(store: Store, rng: Rng, job: JobRecord, module: ProgramModule, candidates: readonly CandidateRecord[]): Promise<{ kind: ProposalKind; pool: Demo[] } | null> {
  const mipro = job.config.mipro;
  if (mipro.proposer.mode === 'instruction_only') return { kind: 'instruction', pool: [] };
  const pool = mipro.max_demos > 0 ? await modulePool(store, job, module) : [];
  const kind = chooseProposalKind({
    mode: mipro.proposer.mode, poolSize: pool.length, maxDemos: mipro.max_demos,
    stats: proposalKindStats(candidates, mipro.online_rollouts_per_candidate),
  }, rng);
  return kind === null ? null : { kind, pool };
}

/** Each kind's record so far, from the children themselves (online statistics only). */
export function proposalKindStats(candidates: readonly CandidateRecord[], R: number): Record<ProposalKind, KindRecord> {
  const byId = new Map(candidates.map((c) => [c.id, c]));
  const children: KindChild[] = candidates.flatMap((c) => {
    const parent = c.parentId ? byId.get(c.parentId) : undefined;
    // Only proposals' children: a candidate added by hand may change both parts at once.
    return parent && c.proposalId !== null ? [{ kind: kindOf(c, parent), stats: c.online, parentStats: parent.online }] : [];
  });
  return kindStats(children, R);
}

/**
 * A demo-set proposal: up to `n` children of `parent`, each with a new ordered demo set for
 * `module` drawn from the pool, the rest of the program copied. No model call: it costs no proposer
 * budget. Recorded like any proposal (lease, event, GET .../proposals with tip "demos"). Returns
 * `no_new_set` when no new set was found, `lease_taken` when another instance holds the lease.
 */
export async function runDemoProposal(p: {
  store: Store; rng: Rng; now: number; leaseMs: number;
  job: JobRecord; parent: CandidateRecord; module: ProgramModule; pool: readonly Demo[];
  candidates: readonly CandidateRecord[]; n: number;
  /** What the decision to propose was made on (Store.startProposal). */
  basis: ProposalStart['basis'];
  /** Ends the proposal failed when its finish threw (ProposalRunner: written once a lost database is back). */
  endAfterError(lease: ProposalRecord, err: unknown): Promise<void>;
}): Promise<{ seq: number; created: number } | 'no_new_set' | 'lease_taken'> {
  const { store, job, parent, module } = p;
  const parentText = moduleInstruction(parent.instructions, module);
  // Sets already tried with the same instruction for this module: a repeat would be the same program.
  const existing = p.candidates.filter((c) => moduleInstruction(c.instructions, module) === parentText).map((c) => c.demos[module.name] ?? []);
  const sets: Demo[][] = [];
  for (let i = 0; i < p.n; i++) {
    const set = proposeDemoSet({ pool: p.pool, parent: parent.demos[module.name] ?? [], existing: [...existing, ...sets], maxDemos: job.config.mipro.max_demos }, p.rng);
    if (set) sets.push(set);
  }
  if (sets.length === 0) return 'no_new_set';
  const lease = await store.startProposal({
    jobId: job.id, id: newProposalId(), parentId: parent.id, module: module.name, tip: DEMO_PROPOSAL_TIP,
    prompt: [{ role: 'system', content: `demo-set proposal for module ${module.name}: ${sets.length} new set(s) from a pool of ${p.pool.length} demo(s); no model call` }],
    leaseUntil: new Date(p.now + p.leaseMs).toISOString(), now: new Date(p.now).toISOString(), basis: p.basis,
  });
  if (!lease) return 'lease_taken';
  const created: NewCandidate[] = sets.map((set) => ({
    id: newCandidateId(), parentId: parent.id, instruction: parentText, module: module.name,
    instructions: { ...parent.instructions }, demos: withModuleDemos(parent.demos, module.name, set), tip: null, proposalId: lease.id,
  }));
  // Checked again under the job's lock on the candidates there are then: a warm start of the same
  // set committed since `p.candidates` was read (on any instance) makes that set no longer new.
  const settle = (current: readonly CandidateRecord[]): ProposalSettlement => {
    const taken = new Set(current.filter((c) => moduleInstruction(c.instructions, module) === parentText).map((c) => demoSetKey(c.demos[module.name] ?? [])));
    const fresh = created.filter((c) => !taken.has(demoSetKey(c.demos?.[module.name] ?? [])));
    if (fresh.length === 0) {
      const error = `no new demo set: ${created.length === 1 ? 'the set' : `each of the ${created.length} sets`} for module ${module.name} was added meanwhile (a warm start)`;
      return { status: 'failed', error, candidates: [], events: [proposalFailedEvent(lease.id, lease.seq, error)] };
    }
    return {
      status: 'succeeded', error: null, candidates: fresh,
      events: [{
        eventType: 'mipro.proposal.created',
        message: `proposal ${lease.seq}: ${fresh.length} new demo set(s) from ${parent.id}, module ${module.name}`,
        data: {
          proposal_id: lease.id, seq: lease.seq, parent_id: parent.id, module: module.name, kind: 'demos',
          candidate_ids: fresh.map((c) => c.id), demo_rollout_ids: fresh.map((c) => (c.demos?.[module.name] ?? []).map((d) => d.rolloutId)),
        },
      }],
    };
  };
  let stored: readonly CandidateRecord[];
  try {
    stored = await store.finishProposal({
      jobId: job.id, id: lease.id, status: 'succeeded', response: null, error: null, candidates: [], events: [],
      maxCandidates: job.config.mipro.online_proposer_max_candidates, settle,
    });
  } catch (err) {
    // A database outage: the proposal ends failed once the database answers, as an instruction proposal's does.
    await p.endAfterError(lease, err);
    return { seq: lease.seq, created: 0 };
  }
  // `created` 0: the finish refused them (the job ended, or the pool filled up meanwhile): the proposal is failed, saying why.
  return { seq: lease.seq, created: stored.length };
}
