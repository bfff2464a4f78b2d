import type { Clock } from '../../shared/clock.js';
import type { Logger } from '../../shared/logger.js';
import type { Rng } from '../../shared/rng.js';
import { newProposalId } from '../../shared/ids.js';
import { tokenLimit } from '../../providers/tokenLimit.js';
import type { ChatProvider, ProviderTarget } from '../../providers/types.js';
import { type CandidateRecord, FINAL_STATUSES, type JobRecord, type ProposalRecord, type ProposalSettlement, type Store } from '../../store/types.js';
import { jobEndedError, proposalFailedEvent } from '../../store/proposalClosing.js';
import { onlineInterval, type RewardRange } from '../core/rewardRange.js';
import { pooledVariance } from '../core/statistics.js';
import { storableUpstreamText } from '../core/text.js';
import { chooseParent } from '../core/proposalTrigger.js';
import { buildDatasetSummaryPrompt, buildProposerPrompt, proposerAnswerTokens, type ProposerMessage } from '../core/proposerPrompt.js';
import { chooseModule, type ModuleChoice } from '../core/moduleChoice.js';
import type { ProgramModule } from '../core/modules.js';
import { moduleInstruction } from '../core/program.js';
import { moduleReflection } from './moduleEvidence.js';
import { chooseTip, initialTipStats, isTipId, tipOutcome, updateTipStats, type TipStats } from '../core/tips.js';
import type { JobRuntime } from './jobRuntime.js';
import { proposerCaps, recordProposerCall } from './proposerSpend.js';
import { exhaustedCap } from '../core/spend.js';
import { chooseKind, readModulePool, runDemoProposal } from './demoProposal.js';
import { demoSkipHolds, demoSkipKey } from './demoSkip.js';
import { demoMinReward } from '../../schemas/jobConfig.js';
import { proposalDecisionOf } from './proposalGate.js';
import { cutOffNote } from './proposerCutOff.js';
import { type InstructionSettlement, NO_USABLE_INSTRUCTION, settleInstructions } from './instructionSettlement.js';
import { retryWhileDatabaseDown } from '../../shared/outageRetry.js';
import { DatabaseUnavailableError, JobGoneError } from '../../shared/errors.js';

export interface ProposalRunnerDeps {
  store: Store;
  clock: Clock;
  rng: Rng;
  log: Logger;
  providers: { get(target: ProviderTarget): ChatProvider };
  proposerTimeoutMs: number;
  /** Re-reads the job's candidates after new ones were created. */
  refresh(rt: JobRuntime): Promise<void>;
  onOutcome?(outcome: 'succeeded' | 'failed' | 'skipped'): void;
  /**
   * How proposals pick the module they change. Default `credit`: since proposals wait for the last
   * children to be measured (childrenBeingMeasured), its lifts are real evidence, and on the seed
   * request's settings it delivered clearly better programs where one module limits the program
   * (pipeline-3 (a): true mean +0.03 to +0.04 over `round_robin`) and within 0.012 where all modules matter alike,
   * with lower cumulative regret in three settings of four (docs/optimizer-benchmark.md, "pipeline-3").
   */
  moduleChoice?: ModuleChoice;
  /**
   * Aborted when a graceful shutdown's grace period (SHUTDOWN_GRACE_MS) runs out: the proposer call
   * in flight is cancelled and its proposal ends failed, releasing the job's lease. Waiting for it
   * instead held the shutdown up to two PROPOSER_TIMEOUT_MS calls, past a supervisor's stop timeout,
   * whose SIGKILL then left the lease held (proposalLeaseMs, about 3 x PROPOSER_TIMEOUT_MS) after the restart.
   */
  stopping?: AbortSignal;
}

const SUMMARY_MIN_INPUTS = 3;
/** The dataset summary's own token limit: its answer is 2-3 sentences (summaryTokens). */
const SUMMARY_TOKENS = 256;
/**
 * A proposal's lease lasts this many proposer calls (each PROPOSER_TIMEOUT_MS + TIMEOUT_OVERRUN_MS): the
 * dataset summary (the job's first proposal only) and the proposal call, with room for the database
 * work around them.
 */
const PROPOSAL_LEASE_CALLS = 3;
/**
 * How much later than PROPOSER_TIMEOUT_MS a proposer call that times out may end. undici checks its
 * headers and body timeouts on a ~0.5 s tick (its "fast timers"), so a call times out up to two ticks
 * after its deadline is due: measured, a 100 ms timeout ended after 1.0 s, a 500 ms one after 1.0 s, a
 * 2 s one after 2.5 s. A lease of three bare timeouts was then shorter than the two calls of a live
 * proposal whose timeout is under a few seconds, and the lease sweep failed it as abandoned while it
 * ran (with another instance free to take the lease and propose beside it).
 */
const TIMEOUT_OVERRUN_MS = 1_000;
/** The error of a proposal whose proposer call the server's shutdown cancelled (`stopping`). */
export const SHUT_DOWN_ERROR = 'the server shut down while the proposal ran: no candidates added';
/** The error of a proposal that met a database outage (its end is written once the database is back). */
export const DATABASE_LOST_ERROR = 'the database became unreachable while the proposal ran: no candidates added';
/** Recent low-reward rollouts whose feedback_by_module is counted as blame for module choice. */
const BLAME_WINDOW = 100;

interface Proposer {
  provider: ChatProvider;
  model: string;
}

/**
 * One proposal: choose a parent (Thompson), the module to change (credit over modules) and a tip
 * (bandit over tips), build MIPRO's grounded prompt from that module's observed calls, ask the proposer model, keep the valid new instructions. Failures
 * (timeouts, garbage answers) are recorded as events and retried after the next batch of rewards;
 * they never fail the job. Every prompt and answer is stored (GET .../proposals).
 */
export class ProposalRunner {
  constructor(private readonly deps: ProposalRunnerDeps) {}

  async run(rt: JobRuntime): Promise<void> {
    try {
      await this.propose(rt);
    } catch (err) {
      // The job was deleted while the proposer worked: the database refused what the answer would
      // add (no row of it comes back), and nothing went wrong.
      if (err instanceof JobGoneError) {
        this.deps.log.info({ jobId: rt.job.id }, 'proposal dropped: its job was deleted');
        this.deps.onOutcome?.('failed');
        return;
      }
      // A bug or a database outage must not take the server down; the next trigger retries.
      this.deps.log.error({ err, jobId: rt.job.id }, 'proposal crashed');
      this.deps.onOutcome?.('failed');
    }
  }

  /**
   * demos_only with no demo in any module: every trigger is skipped until a call qualifies, which
   * with the default threshold (the top of reward_range) may be never for a graded reward. Said once
   * per instance as an event, so the app sees why nothing is proposed instead of a silent job; said
   * again when the modules that run a tool loop change (they never get demos, so never a proposal
   * in this mode: the event names them).
   */
  private async reportNoDemos(rt: JobRuntime, modules: readonly ProgramModule[]): Promise<void> {
    const toolModules: string[] = [];
    for (const m of modules) if ((await readModulePool(this.deps.store, rt.job, m)).usesTools) toolModules.push(m.name);
    const key = JSON.stringify(toolModules);
    if (rt.noDemosReported === key) return;
    rt.noDemosReported = key;
    const minReward = demoMinReward(rt.job.config.mipro);
    const tools = toolModules.length === 0 ? '' : `; module(s) ${toolModules.join(', ')} run a tool loop (their calls made tool calls) and get no demos, so no demos_only proposal: use proposer.mode instruction_and_demos to have their instructions proposed`;
    await this.deps.store.appendEvent(rt.job.id, {
      eventType: 'mipro.proposal.skipped',
      message: `demos_only: no demo qualifies in any module yet (a demo is a text-only call of a bootstrap/online rollout rewarded at least mipro.demo_min_reward = ${minReward})${tools}; no proposal until one does: lower demo_min_reward, or use proposer.mode instruction_and_demos`,
      data: { reason: 'no_demos', mode: 'demos_only', demo_min_reward: minReward, modules: modules.map((m) => m.name), tool_modules: toolModules },
    });
  }

  private async propose(rt: JobRuntime): Promise<void> {
    const { store } = this.deps;
    // demos_only found nothing to propose last time, and nothing that could change that has moved.
    if (demoSkipHolds(rt)) {
      this.deps.onOutcome?.('skipped');
      return;
    }
    // Another instance may have proposed or added candidates since this one's cache was read: the
    // decision (room left, last children measured) is made again on current state, and the lease is
    // taken only if that state still holds then (`basis`), so no proposal rests on children it never saw.
    await this.deps.refresh(rt);
    if (!proposalDecisionOf(rt, false).propose) {
      this.deps.onOutcome?.('skipped');
      return;
    }
    const basis = { proposalSeq: rt.job.proposalSeq, candidateCount: rt.candidates.length };
    const job = rt.job;
    const mipro = job.config.mipro;
    const R = mipro.online_rollouts_per_candidate;
    const candidates = rt.candidates;
    const parentId = chooseParent(rt.views(), R, this.deps.rng);
    const parent = candidates.find((c) => c.id === parentId);
    const target = parent ? await this.chooseTarget(rt, candidates) : null;
    if (!parent || !target) {
      this.deps.onOutcome?.('skipped'); // no module has been called yet: nothing to ground a proposal in
      return;
    }
    const { order } = target;
    let module = target.module;
    let kind = await chooseKind(store, this.deps.rng, rt.job, module, candidates);
    // demos_only, and no demo of this module qualifies yet (a module running a tool loop never gets one):
    // another module's may, rather than every trigger waiting on this one (module choice's first round).
    for (const other of order) {
      if (kind !== null) break;
      if (other.name === module.name) continue;
      kind = await chooseKind(store, this.deps.rng, rt.job, other, candidates);
      if (kind !== null) module = other;
    }
    if (kind === null) {
      rt.demoSkip = demoSkipKey(rt);
      await this.reportNoDemos(rt, order);
      this.deps.onOutcome?.('skipped'); // demos_only, and no demo qualifies yet
      return;
    }
    if (kind.kind === 'demos') {
      const room = mipro.online_proposer_max_candidates - candidates.length;
      // demos_only: every set of the chosen module near this parent may have been tried; the other
      // modules then get their turn in call order rather than every trigger skipping on this one
      // (module choice, led by blame, may keep choosing it).
      const modules = mipro.proposer.mode === 'demos_only' ? [module, ...order.filter((m) => m.name !== module.name)] : [module];
      let leaseTaken = false;
      for (const [i, m] of modules.entries()) {
        const pool = i === 0 ? kind.pool : (await chooseKind(store, this.deps.rng, rt.job, m, candidates))?.pool;
        if (pool === undefined || pool.length === 0) continue;
        const demoNow = this.deps.clock.now();
        const demoLeaseMs = 2 * this.deps.proposerTimeoutMs;
        const done = await runDemoProposal({
          store, rng: this.deps.rng, now: demoNow, leaseMs: demoLeaseMs, job, parent, module: m, pool,
          candidates, basis, n: Math.max(1, Math.min(mipro.proposer.instructions_per_batch, room)),
          endAfterError: (lease, err) => this.endAfterError(rt, lease, null, err, demoNow + demoLeaseMs),
        });
        if (done === 'lease_taken') leaseTaken = true;
        if (typeof done === 'object') {
          rt.job = { ...rt.job, rewardsSinceProposal: 0, proposalSeq: done.seq };
          await this.deps.refresh(rt);
          this.deps.onOutcome?.(done.created > 0 ? 'succeeded' : 'failed');
          return;
        }
      }
      if (mipro.proposer.mode === 'demos_only') {
        // Every set was tried: skipped until something moves. Not when another instance holds the
        // lease (its proposal's candidates will move the key anyway, but its failure would not).
        if (!leaseTaken) rt.demoSkip = demoSkipKey(rt);
        this.deps.onOutcome?.('skipped');
        return;
      }
      // instruction_and_demos: every set near this parent was tried (or the lease was taken): write an instruction.
    }
    if (this.budgetSpent(rt)) return;
    if (this.deps.stopping?.aborted) {
      this.deps.onOutcome?.('skipped'); // shutting down: a lease now would only be failed at once
      return;
    }
    const tip = chooseTip(tipStatsOf(candidates, R), this.deps.rng);
    const proposer = this.proposerFor(job);
    const room = mipro.online_proposer_max_candidates - candidates.length;
    const n = Math.max(1, Math.min(mipro.proposer.instructions_per_batch, room));

    // The lease comes first: on several instances only the one that wins it reads the grounding and
    // asks for the dataset summary, so the others spend no proposer call. The prompt is stored once built.
    const now = this.deps.clock.now();
    // The lease's end on this instance's clock: the stored one is on the database's (Store.leaseClockNow).
    const ownLeaseEnd = now + proposalLeaseMs(this.deps.proposerTimeoutMs);
    const lease = await store.startProposal({
      jobId: job.id, id: newProposalId(), parentId: parent.id, module: module.name, tip, prompt: [],
      leaseUntil: new Date(ownLeaseEnd).toISOString(), now: new Date(now).toISOString(), basis,
    });
    if (!lease) {
      this.deps.onOutcome?.('skipped');
      return; // another instance is proposing for this job, or proposed since `basis` was read
    }
    rt.job = { ...rt.job, rewardsSinceProposal: 0, proposalSeq: lease.seq };

    let response: string | null = null;
    const fail = (error: string, level?: 'warn' | 'info') => this.fail(rt, lease.id, lease.seq, response, error, level);
    try {
      const [reflection, summary] = await Promise.all([
        moduleReflection(store, job.id, parent.id, module),
        this.datasetSummary(rt, proposer),
      ]);
      const spent = await this.capReached(rt);
      if (spent !== null) {
        await fail(`the dataset summary reached the proposer's ${spent}: no proposal call`);
        return;
      }
      const parentText = moduleInstruction(parent.instructions, module);
      const prompt = buildProposerPrompt({
        datasetSummary: summary,
        programDescription: module.template,
        parent: { instruction: parentText, ...scoreOf(rt, parent, mipro.reward_range) },
        worstRollouts: reflection.worst,
        bestRollouts: reflection.best,
        history: moduleHistory(candidates, module, parentText).map((c) => ({
          instruction: moduleInstruction(c.instructions, module), status: c.status, ...scoreOf(rt, c, mipro.reward_range),
        })),
        tip,
        instructionsPerBatch: n,
        program: { target: module.name, modules: order.map((m) => ({ name: m.name, instruction: moduleInstruction(parent.instructions, m) })) },
      });
      await store.setProposalPrompt(job.id, lease.id, prompt);
      const longest = parentText.length > module.template.length ? parentText : module.template;
      const { text: answer, cutOff } = await this.ask(rt, proposer, prompt, mipro.proposer.temperature, proposerAnswerTokens(mipro.proposer.max_tokens, longest, n));
      // Parsed as it came (an instruction holding U+0000 is refused), stored in storable form.
      response = storableUpstreamText(answer);
      // The job may have ended while the proposer answered. Room and duplicates are checked again
      // below, under the job's lock, on the candidates there are then (a proposal another instance
      // finished just before this lease was taken, a warm start committed while this one ran).
      await this.deps.refresh(rt);
      if (rt.deleted) throw new JobGoneError();
      if (FINAL_STATUSES.includes(rt.job.status)) {
        await fail(jobEndedError(rt.job.status));
        return;
      }
      // Settled under the job's lock on the candidates there are then (Store.finishProposal `settle`):
      // a warm start committed since the refresh above, on any instance, counts as a duplicate too.
      let settled: InstructionSettlement | undefined;
      const settle = (current: readonly CandidateRecord[]): ProposalSettlement => {
        settled = settleInstructions({ answer, cutOff, module, parent, tip, proposal: lease, n, maxCandidates: mipro.online_proposer_max_candidates }, current);
        return settled;
      };
      const stored = await store.finishProposal({
        jobId: job.id, id: lease.id, status: 'succeeded', response, error: null, candidates: [], events: [],
        maxCandidates: mipro.online_proposer_max_candidates, settle,
      });
      await this.deps.refresh(rt);
      const outcome: InstructionSettlement | undefined = settled;
      if (outcome?.status === 'failed') {
        this.deps.log[outcome.level]({ jobId: rt.job.id, proposalId: lease.id, error: outcome.error }, 'proposal failed');
        this.deps.onOutcome?.('failed');
        return;
      }
      // Nothing stored: the job ended, or the pool filled up meanwhile (the proposal is failed, saying why).
      this.deps.onOutcome?.(stored.length > 0 ? 'succeeded' : 'failed');
    } catch (err) {
      await this.endAfterError(rt, lease, response, err, ownLeaseEnd);
      this.deps.onOutcome?.('failed');
    }
  }

  /**
   * Ends a proposal whose work threw, saying why. In an outage the end is written once the database
   * answers again, while the lease holds (otherwise the proposal stayed `running` until its lease
   * ran out, minutes later, and its end then blamed a dead instance). Instruction and demo-set
   * proposals alike.
   */
  private async endAfterError(rt: JobRuntime, lease: ProposalRecord, response: string | null, err: unknown, ownLeaseEnd: number): Promise<void> {
    // Deleted meanwhile: its proposal row is gone or going, nothing to end (run() says so quietly).
    if (err instanceof JobGoneError) throw err;
    // Cancelled by the shutdown: say so, not the transport's "aborted" (nothing is wrong upstream).
    const why = this.deps.stopping?.aborted ? SHUT_DOWN_ERROR
      : err instanceof DatabaseUnavailableError ? DATABASE_LOST_ERROR : err instanceof Error ? err.message : String(err);
    await this.endFailed(rt, lease.id, lease.seq, response, why, 'warn', (write) => retryWhileDatabaseDown(write, {
      // This instance's clock against a deadline on it: the stored lease is on the database's clock.
      now: () => this.deps.clock.now(), deadline: ownLeaseEnd, stopping: this.deps.stopping,
    }));
  }

  /**
   * The module this proposal changes, and the program in call order. Modules never called yet go
   * last in that order; none is chosen before any call was recorded.
   */
  private async chooseTarget(rt: JobRuntime, candidates: readonly CandidateRecord[]): Promise<{ module: ProgramModule; order: ProgramModule[] } | null> {
    const { store } = this.deps;
    const [lo, hi] = rt.job.config.mipro.reward_range;
    const [called, blame, { failed, refused, running }] = await Promise.all([
      store.moduleCallOrder(rt.job.id),
      // "Low" rewards: the lower half of the declared range (failures, for binary rewards).
      store.moduleBlame(rt.job.id, { below: lo + (hi - lo) / 2, limit: BLAME_WINDOW }),
      // Every failure counts as a try; only the proposer's refused answers say a module is hard to
      // propose for (a timeout, an upstream error or the job's end says nothing about the module).
      store.proposalTriesByModule(rt.job.id, NO_USABLE_INSTRUCTION),
    ]);
    // Tries per module: its children, its failed proposals, and one running on another instance. A
    // module whose proposals keep failing (a proposer that cannot keep its placeholders) must not take
    // every proposal of the first round. A running one counts because this decision stands if it
    // fails before this instance takes the lease (a failure moves neither the proposal seq nor the
    // candidates of the lease's basis): uncounted, the first round gave its module a second try before
    // the next module had one. If it succeeds instead, its child moves the basis and this decision is
    // dropped. On one instance nothing else runs when this is decided, so nothing changes there.
    const counts: Record<string, number> = { ...failed };
    for (const [m, n] of Object.entries(running)) counts[m] = (counts[m] ?? 0) + n;
    for (const c of candidates) if (c.module) counts[c.module] = (counts[c.module] ?? 0) + 1;
    const known = new Map(rt.modules.map((m) => [m.name, m]));
    const order = [...called, ...rt.modules.map((m) => m.name).filter((n) => !called.includes(n))].flatMap((n) => known.get(n) ?? []);
    const eligible = order.filter((m) => called.includes(m.name));
    const mipro = rt.job.config.mipro;
    const name = chooseModule({
      modules: eligible.map((m) => m.name),
      candidates: candidates.map((c) => ({ id: c.id, parentId: c.parentId, module: c.module, stats: c.online })),
      proposalsByModule: counts,
      rolloutsPerCandidate: mipro.online_rollouts_per_candidate,
      rewardVariance: pooledVariance(candidates.map((c) => c.online)),
      strategy: this.deps.moduleChoice ?? 'credit',
      blame,
      failedByModule: refused,
    }, this.deps.rng);
    const module = name === null ? undefined : known.get(name);
    return module ? { module, order } : null;
  }

  /**
   * The cap the proposer's spend has reached, read from the database right before a proposer call.
   * The runtime's job is a cache that other writers replace (a reward's commit, a refresh), and one
   * read before the last call's usage was added can put the spend back under the cap: one call over
   * `max_calls` was seen on PostgreSQL under load. Also takes the stored dataset summary.
   */
  private async capReached(rt: JobRuntime): Promise<string | null> {
    const stored = await this.deps.store.getJob(rt.job.id);
    if (stored) rt.job = { ...rt.job, usage: stored.usage, datasetSummary: stored.datasetSummary };
    return exhaustedCap(rt.job.usage.proposer, proposerCaps(rt.job));
  }

  /** A spend cap is reached: no proposer call (the crossing call already emitted the event). */
  private budgetSpent(rt: JobRuntime): boolean {
    if (exhaustedCap(rt.job.usage.proposer, proposerCaps(rt.job)) === null) return false;
    this.deps.onOutcome?.('skipped');
    return true;
  }

  private async fail(rt: JobRuntime, proposalId: string, seq: number, response: string | null, why: string, level: 'warn' | 'info' = 'warn'): Promise<void> {
    await this.endFailed(rt, proposalId, seq, response, why, level);
    this.deps.onOutcome?.('failed');
  }

  /**
   * Logs a proposal's failure and writes its failed end (without counting the outcome). `attempt`
   * runs the write (retryWhileDatabaseDown in an outage): the line is logged once, outside it, as each
   * retry logged it again (three "proposal failed" lines for one failure behind a SQLite write lock).
   */
  private async endFailed(
    rt: JobRuntime, proposalId: string, seq: number, response: string | null, why: string, level: 'warn' | 'info' = 'warn',
    attempt: (write: () => Promise<void>) => Promise<void> = (write) => write(),
  ): Promise<void> {
    // The reason may quote the proposer's upstream (its error message): stored in storable form.
    const error = storableUpstreamText(why);
    this.deps.log[level]({ jobId: rt.job.id, proposalId, error }, 'proposal failed');
    await attempt(async () => {
      await this.deps.store.finishProposal({
        jobId: rt.job.id, id: proposalId, status: 'failed', response, error, candidates: [],
        events: [proposalFailedEvent(proposalId, seq, error)],
      });
    });
  }

  /** The proposer's provider with the model every request must name (providers are per upstream). */
  private proposerFor(job: JobRecord): Proposer {
    const { provider, model, inference_url: inferenceUrl } = job.config.mipro.proposer;
    return { provider: this.deps.providers.get({ provider, model, inferenceUrl }), model };
  }

  /**
   * One proposer call; its usage is added to the job's counters before the answer is used. `cutOff`
   * says why the answer stopped at its token limit (null when it did not).
   */
  private async ask(rt: JobRuntime, proposer: Proposer, messages: ProposerMessage[], temperature: number | null, maxTokens: number): Promise<{ text: string; cutOff: string | null }> {
    const res = await proposer.provider.complete(
      {
        model: proposer.model,
        messages: messages.map((m) => ({ role: m.role, content: m.content })),
        // null (the job's choice): none sent, the provider's default applies; reasoning models take no other.
        ...(temperature !== null ? { temperature } : {}),
        stream: false,
        ...tokenLimit(proposer.provider.kind, maxTokens),
      },
      { timeoutMs: this.deps.proposerTimeoutMs, ...(this.deps.stopping ? { signal: this.deps.stopping } : {}) },
    );
    await recordProposerCall(this.deps.store, rt, res.json.usage ?? null);
    return { text: res.json.choices[0]?.message.content ?? '', cutOff: cutOffNote(res.json, maxTokens) };
  }

  /** MIPRO's dataset descriptor, computed once per job from bootstrap/online inputs (never val). */
  private async datasetSummary(rt: JobRuntime, proposer: Proposer): Promise<string | null> {
    const job = rt.job;
    if (job.datasetSummary) return job.datasetSummary;
    // Read again: the cache may lack a summary stored since, or the call that reached a cap.
    const spent = await this.capReached(rt);
    if (rt.job.datasetSummary || spent !== null) return rt.job.datasetSummary;
    const inputs = await this.deps.store.sampleInputs(job.id, 10);
    if (inputs.length < SUMMARY_MIN_INPUTS) return null;
    try {
      const summary = storableUpstreamText((await this.ask(rt, proposer, buildDatasetSummaryPrompt(inputs), summaryTemperature(job), summaryTokens(job))).text.trim());
      if (!summary) return null;
      await this.deps.store.setDatasetSummary(job.id, summary);
      return summary;
    } catch (err) {
      if (err instanceof JobGoneError) throw err;
      this.deps.log.warn({ jobId: job.id, err: err instanceof Error ? err.message : String(err) }, 'dataset summary failed');
      return null;
    }
  }
}

/**
 * The dataset-summary call's temperature: 1.0 (a varied description), or none when the job sends the
 * proposer none (`proposer.temperature: null`, a reasoning model that refuses any but its default).
 */
function summaryTemperature(job: JobRecord): number | null {
  return job.config.mipro.proposer.temperature === null ? null : 1.0;
}

/**
 * The dataset-summary call's token limit: 256 (2-3 sentences), or the job's proposer.max_tokens when
 * that is more. A reasoning proposer (gpt-5, o3) counts its thinking in the limit: with 256 it came
 * back empty every time, and as an empty summary is not stored, every proposal paid for the call again.
 */
function summaryTokens(job: JobRecord): number {
  return Math.max(SUMMARY_TOKENS, job.config.mipro.proposer.max_tokens);
}

/** How long an instruction proposal's lease lasts: it outlasts the live runner's work (docs/deploy.md). */
export function proposalLeaseMs(proposerTimeoutMs: number): number {
  return PROPOSAL_LEASE_CALLS * (proposerTimeoutMs + TIMEOUT_OVERRUN_MS);
}

/**
 * The texts tried for `module` other than the parent's, one program per text: scores are of whole
 * programs, and programs that differ elsewhere share a module's text, so each text is shown once, with
 * the score of its most measured program (otherwise one text filled the history under several scores
 * and crowded out the others tried).
 */
export function moduleHistory(candidates: readonly CandidateRecord[], module: ProgramModule, parentText: string): CandidateRecord[] {
  const byText = new Map<string, CandidateRecord>();
  for (const c of candidates) {
    const text = moduleInstruction(c.instructions, module);
    if (c.online.n === 0 || text === parentText) continue;
    const seen = byText.get(text);
    if (!seen || c.online.n > seen.online.n) byText.set(text, c);
  }
  return [...byText.values()];
}

/** The interval the proposer is shown: seed-level when the rewards carried seeds, like every decision's. */
/**
 * A candidate's score as the proposer reads it: its rewards, and the mean and 95% interval of one
 * statistic (seed-level once rewards carry seeds), so the mean sits inside its own interval (the
 * per-rollout mean beside a seed-level interval could fall outside it when seeds ran unequally).
 */
function scoreOf(rt: JobRuntime, c: CandidateRecord, range: RewardRange): { n: number; mean: number; ci: [number, number] } {
  const stats = rt.seedStatsOf(c.id) ?? c.online;
  return { n: c.online.n, mean: stats.mean, ci: onlineInterval(stats, 0.05, range) };
}

/** Tip outcomes are derived from the candidates themselves: did each child beat its parent? */
export function tipStatsOf(candidates: readonly CandidateRecord[], R: number): TipStats {
  let stats = initialTipStats();
  for (const child of candidates) {
    if (!child.tip || !isTipId(child.tip) || !child.parentId) continue;
    const parent = candidates.find((c) => c.id === child.parentId);
    if (!parent) continue;
    const outcome = tipOutcome(child.online, parent.online, R);
    if (outcome !== null) stats = updateTipStats(stats, child.tip, outcome);
  }
  return stats;
}
