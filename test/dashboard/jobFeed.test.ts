import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiClient, ApiError } from '../../web/src/api.js';
import { JobFeed, keepNewestEvents } from '../../web/src/jobFeed.js';
import { newProposalId } from '../../src/shared/ids.js';
import { api, startTestServer, type TestServer } from '../helpers/server.js';
import { createSimJob, driveRollouts, type CreatedJob } from './simTraffic.js';

/**
 * The job page's data feed against a real server, with tiny pages so that paging and the
 * "continue from the last page" logic are exercised.
 */
describe('job feed (incremental loading for the job page)', () => {
  let t: TestServer;
  let job: CreatedJob;
  const seen: string[] = [];
  const client = (key: string) => new ApiClient(key, (input, init) => {
    seen.push(String(input));
    return fetch(`${t.url}${String(input)}`, init);
  });

  beforeAll(async () => {
    t = await startTestServer();
    job = await createSimJob(t.url, t.key, { online_proposer_min_rollouts: 1000 });
  });
  afterAll(async () => {
    await t?.close();
  });

  const allRewards = async () => {
    const out: Array<{ candidate_id: string; reward: number }> = [];
    let cursor: string | null = null;
    do {
      const res = await api(t.url, 'GET', `/api/v1/online/sessions/${job.system_id}/rewards?limit=1000${cursor ? `&cursor=${cursor}` : ''}`, { key: t.key });
      out.push(...(res.body.items as Array<{ candidate_id: string; reward: number }>));
      cursor = res.body.next_cursor as string | null;
    } while (cursor);
    return out.map((r) => ({ candidate_id: r.candidate_id, reward: r.reward }));
  };

  it('loads every reward and event once, then only what is new', async () => {
    await driveRollouts(t.url, t.key, job.system_id, 17, 1);
    const feed = new JobFeed(client(t.key), job.job_id, { rewardPage: 5, eventPage: 7 });
    const first = await feed.refresh();
    expect(first.job).toBe(true);
    expect(first.rewards).toBe(true);
    expect(feed.rewards.map((r) => ({ candidate_id: r.candidate_id, reward: r.reward }))).toEqual(await allRewards());
    expect(feed.rewards).toHaveLength(17);
    const seqs = feed.events.map((e) => e.seq);
    expect(new Set(seqs).size).toBe(seqs.length);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    expect(first.newEvents.length).toBe(feed.events.length);

    // Nothing new: nothing changes, and nothing is fetched twice into the feed.
    const idle = await feed.refresh();
    expect(idle).toMatchObject({ job: false, rewards: false, proposals: false, newEvents: [] });
    expect(feed.rewards).toHaveLength(17);

    // New traffic crossing a page boundary (17 -> 26 with pages of 5): exactly the new rewards.
    await driveRollouts(t.url, t.key, job.system_id, 9, 1);
    const next = await feed.refresh();
    expect(next.rewards).toBe(true);
    expect(feed.rewards.map((r) => ({ candidate_id: r.candidate_id, reward: r.reward }))).toEqual(await allRewards());
    expect(feed.rewards).toHaveLength(26);
    expect(next.newEvents.length).toBeGreaterThanOrEqual(9); // a reward event each, at least
    expect(Math.min(...next.newEvents.map((e) => e.seq))).toBeGreaterThan(Math.max(...seqs));
    const events = await api(t.url, 'GET', `/api/v1/online/sessions/${job.system_id}/events?limit=1000`, { key: t.key });
    expect(feed.events.map((e) => e.seq)).toEqual((events.body.events as Array<{ seq: number }>).map((e) => e.seq));
    expect(feed.job?.reward_count).toBe(26);
  });

  it('pages the proposals: the newest page first, older ones on demand, and a refresh keeps what was loaded', async () => {
    const other = await createSimJob(t.url, t.key, { online_proposer_min_rollouts: 1000 });
    const propose = async () => {
      const lease = await t.server.store.startProposal({ jobId: other.job_id, id: newProposalId(), parentId: 'baseline', module: 'main', tip: 'none', prompt: [], leaseUntil: new Date(Date.now() + 60_000).toISOString(), now: new Date().toISOString() });
      if (!lease) throw new Error('no lease');
      await t.server.store.finishProposal({ jobId: other.job_id, id: lease.id, status: 'failed', response: null, error: 'timeout', events: [], candidates: [] });
    };
    for (let k = 0; k < 7; k++) await propose();
    const feed = new JobFeed(client(t.key), other.job_id, { proposalPage: 3 });
    expect((await feed.refresh()).proposals).toBe(true);
    expect(feed.proposals.map((p) => p.seq)).toEqual([7, 6, 5]);
    expect(feed.proposalPages.hasMore).toBe(true);
    expect(await feed.proposalPages.more()).toBe(true);
    expect(feed.proposals.map((p) => p.seq)).toEqual([7, 6, 5, 4, 3, 2]);
    // Nothing new: no re-read.
    expect((await feed.refresh()).proposals).toBe(false);
    await propose();
    expect((await feed.refresh()).proposals).toBe(true);
    expect(feed.proposals.map((p) => p.seq)).toEqual([8, 7, 6, 5, 4, 3]);
    expect(await feed.proposalPages.more()).toBe(true);
    expect(feed.proposals.map((p) => p.seq)).toEqual([8, 7, 6, 5, 4, 3, 2, 1]);
    expect(feed.proposalPages.hasMore).toBe(false);
  });

  it('sends the key only in the Authorization header and reports a bad key as 401', async () => {
    expect(seen.some((u) => u.includes(t.key))).toBe(false);
    const feed = new JobFeed(client('mpx_wrong'), job.job_id);
    const err = await feed.refresh().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect((err as ApiError).status).toBe(401);
    expect((err as ApiError).code).toBe('unauthorized');
  });

  it('another tenant cannot see the job (404, not 403)', async () => {
    const other = await t.newTenantKey();
    const err = await new JobFeed(client(other.key), job.job_id).refresh().catch((e: unknown) => e);
    expect((err as ApiError).status).toBe(404);
  });
});

describe('job feed: which events the log keeps', () => {
  it('keeps the rare events however many rollout and reward events come after them', () => {
    const ev = (seq: number, event_type: string) => ({ seq, event_type });
    // A proposal, then 450 rollout/reward events: one cap of 400 over all of them dropped the proposal.
    const events = [ev(1, 'mipro.proposal.created'), ...Array.from({ length: 450 }, (_, i) => ev(i + 2, i % 2 ? 'mipro.reward.received' : 'mipro.rollout.started'))];
    const kept = keepNewestEvents(events, 400);
    expect(kept[0]).toEqual(ev(1, 'mipro.proposal.created'));
    expect(kept).toHaveLength(401);
    expect(kept.at(-1)?.seq).toBe(451);
    expect(kept.map((e) => e.seq)).toEqual([...kept.map((e) => e.seq)].sort((a, b) => a - b));
    // Rare events are capped too, newest kept.
    const rare = Array.from({ length: 5 }, (_, i) => ev(i + 1, 'mipro.job.status'));
    expect(keepNewestEvents(rare, 3).map((e) => e.seq)).toEqual([3, 4, 5]);
  });

  it('keeps the per-call event for the header however many rare events follow it in one read', async () => {
    // A job's first refresh reads its whole backlog: a per_call event, then 450 rare events (best
    // changes, retirements). The log keeps the newest 400 of those; the header must still say it.
    const events = [
      { seq: 1, event_type: 'mipro.rollout.per_call', message: 'm', data: { modules: ['extract', 'answer'] }, created_at: '' },
      ...Array.from({ length: 450 }, (_, i) => ({ seq: i + 2, event_type: 'mipro.best.changed', message: 'b', data: {}, created_at: '' })),
    ];
    const answers: Record<string, unknown> = {
      '/api/policy-optimization/online/jobs/pl_1': { job_id: 'pl_1', system_id: 'sys', proposal_seq: 0 },
      '/api/v1/online/sessions/sys/events': { events },
      '/api/v1/online/sessions/sys/rewards': { items: [], next_cursor: null },
      '/api/v1/online/sessions/sys/proposals': { items: [], next_cursor: null },
    };
    const api = new ApiClient('k', async (input) => {
      const url = new URL(String(input), 'http://x');
      const since = Number(url.searchParams.get('since_seq') ?? 0);
      const body = url.pathname.endsWith('/events') ? { events: events.filter((e) => e.seq > since) } : answers[url.pathname];
      return new Response(JSON.stringify(body), { status: 200, headers: { 'content-type': 'application/json' } });
    });
    const feed = new JobFeed(api, 'pl_1');
    const changes = await feed.refresh();
    expect(changes.newEvents.some((e) => e.event_type === 'mipro.rollout.per_call')).toBe(false);
    expect(feed.perCallEvent?.data).toEqual({ modules: ['extract', 'answer'] });
  });
});
