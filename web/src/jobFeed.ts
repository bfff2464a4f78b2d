import { ApiError, type ApiClient } from './api.js';
import type { EventView, JobView, ProposalView } from './types.js';
import type { RewardPoint } from './chartData.js';
import { LIST_PAGE, PagedList } from './pagedList.js';

/**
 * Everything the job page shows, fetched incrementally: events after the last seen seq, rewards after
 * the last seen position, proposals only when the job says there are new ones. Each refresh costs a
 * few small requests however long the job has run.
 */
export interface FeedChanges {
  job: boolean;
  rewards: boolean;
  proposals: boolean;
  newEvents: EventView[];
}

export type Section = 'events' | 'rewards' | 'proposals';

const EVENT_PAGE = 500;
const REWARD_PAGE = 1000;
/** Pages fetched per refresh at most; a long backlog is caught up over a few refreshes. */
const MAX_PAGES = 20;
/**
 * How often the proposals are read again when nothing says they changed: RETENTION_DAYS clears the
 * prompts and answers of old proposals without a new proposal_seq (the pass runs hourly).
 */
export const PROPOSALS_RECHECK_MS = 5 * 60_000;
/** Events kept in memory (and in the log): the newest ones, of each kind (noisy and rare). */
export const MAX_EVENTS = 400;

/** One event per rollout and per reward: useful live, but they bury the rare ones. */
export const NOISY_EVENTS: ReadonlySet<string> = new Set(['mipro.rollout.started', 'mipro.reward.received']);

/**
 * The newest `max` noisy events and the newest `max` rare ones, in seq order. One cap over all of
 * them let a busy job's rollout and reward events push every proposal and status event out of the
 * log within 200 rollouts: "Hide rollout and reward events" then showed an empty log.
 */
export function keepNewestEvents<T extends { event_type: string }>(events: readonly T[], max = MAX_EVENTS): T[] {
  let noisy = 0;
  let rare = 0;
  const kept: T[] = [];
  for (let k = events.length - 1; k >= 0; k--) {
    const e = events[k] as T;
    const isNoisy = NOISY_EVENTS.has(e.event_type);
    if (isNoisy ? noisy++ < max : rare++ < max) kept.push(e);
  }
  return kept.reverse();
}

export class JobFeed {
  job: JobView | null = null;
  readonly rewards: RewardPoint[] = [];
  /**
   * The proposals, newest first: the newest page, and older ones a page at a time when the user asks
   * ("Load older proposals"). A refresh re-reads as many as are loaded.
   */
  readonly proposalPages: PagedList<ProposalView>;
  events: EventView[] = [];
  /** Sections the server does not serve (404 on the route): shown as unavailable, not retried. */
  readonly unavailable = new Set<Section>();

  /**
   * The job's `mipro.rollout.per_call` event, once read: kept apart from `events`, which hold only
   * the newest MAX_EVENTS rare ones, so a busy job's later proposals and retirements cannot push this
   * early event out before the page has shown it.
   */
  perCallEvent: EventView | null = null;

  private lastSeq = 0;
  /** Cursor of the page the reward stream ends in (null = first page) and how many of it we have. */
  private rewardCursor: string | null = null;
  private rewardsSeenInPage = 0;
  private proposalsSeq = -1;
  private proposalsReadAt = 0;

  private readonly eventPage: number;
  private readonly rewardPage: number;

  constructor(
    private readonly api: ApiClient,
    private readonly jobId: string,
    /** Page sizes; tests make them small to exercise paging. */
    opts: { eventPage?: number; rewardPage?: number; proposalPage?: number } = {},
  ) {
    this.eventPage = opts.eventPage ?? EVENT_PAGE;
    this.rewardPage = opts.rewardPage ?? REWARD_PAGE;
    this.proposalPages = new PagedList((cursor, limit) => {
      if (!this.job) throw new Error('the job is not loaded yet');
      return this.api.proposals(this.job.system_id, cursor, limit);
    }, opts.proposalPage ?? LIST_PAGE);
  }

  /** The loaded proposals, newest first. */
  get proposals(): readonly ProposalView[] {
    return this.proposalPages.items;
  }

  async refresh(): Promise<FeedChanges> {
    const job = await this.api.getJob(this.jobId);
    const jobChanged = JSON.stringify(job) !== JSON.stringify(this.job);
    this.job = job;
    const [newEvents, rewards, proposals] = await Promise.all([
      this.guard('events', () => this.pullEvents(job.system_id), [] as EventView[]),
      this.guard('rewards', () => this.pullRewards(job.system_id), false),
      this.guard('proposals', () => this.pullProposals(job), false),
    ]);
    return { job: jobChanged, rewards, proposals, newEvents };
  }

  /** A missing route (older server) disables its section; auth and other errors go to the caller. */
  private async guard<T>(section: Section, run: () => Promise<T>, fallback: T): Promise<T> {
    if (this.unavailable.has(section)) return fallback;
    try {
      return await run();
    } catch (err) {
      if (err instanceof ApiError && (err.status === 404 || err.status === 405)) {
        this.unavailable.add(section);
        return fallback;
      }
      throw err;
    }
  }

  private async pullEvents(systemId: string): Promise<EventView[]> {
    const fresh: EventView[] = [];
    for (let page = 0; page < MAX_PAGES; page++) {
      const { events } = await this.api.events(systemId, this.lastSeq, this.eventPage);
      const newer = events.filter((e) => e.seq > this.lastSeq);
      for (const e of newer) this.lastSeq = Math.max(this.lastSeq, e.seq);
      fresh.push(...newer);
      this.perCallEvent ??= newer.find((e) => e.event_type === 'mipro.rollout.per_call') ?? null;
      if (events.length < this.eventPage || newer.length === 0) break;
    }
    if (fresh.length > 0) this.events = keepNewestEvents([...this.events, ...fresh]);
    return keepNewestEvents(fresh);
  }

  /**
   * Rewards come in arrival order with page cursors that end (null) at the last page. To continue
   * later, re-read that last page from its own cursor and skip what was already seen.
   */
  private async pullRewards(systemId: string): Promise<boolean> {
    let changed = false;
    for (let page = 0; page < MAX_PAGES; page++) {
      const res = await this.api.rewards(systemId, this.rewardCursor, this.rewardPage);
      const fresh = res.items.slice(this.rewardsSeenInPage);
      for (const r of fresh) this.rewards.push({ candidate_id: r.candidate_id, reward: r.reward, split: r.split });
      changed ||= fresh.length > 0;
      if (res.next_cursor) {
        this.rewardCursor = res.next_cursor;
        this.rewardsSeenInPage = 0;
      } else {
        this.rewardsSeenInPage = Math.max(this.rewardsSeenInPage, res.items.length);
        break;
      }
    }
    return changed;
  }

  private async pullProposals(job: JobView): Promise<boolean> {
    const running = this.proposals.some((p) => p.status === 'running');
    // Only text that is still there can be cleared: once none is left, no recheck.
    const clearable = this.proposals.some((p) => p.prompt.length > 0 || p.response !== null);
    const due = clearable && Date.now() - this.proposalsReadAt >= PROPOSALS_RECHECK_MS;
    if (job.proposal_seq === this.proposalsSeq && !running && !due) return false;
    const before = JSON.stringify(this.proposals);
    // Superseded by "Load older proposals" clicked meanwhile: that answer is the one shown, and the
    // next refresh reads again (proposalsSeq is left as it was).
    if (!(await this.proposalPages.reload())) return false;
    this.proposalsSeq = job.proposal_seq;
    this.proposalsReadAt = Date.now();
    return JSON.stringify(this.proposals) !== before;
  }
}
