import { expect, it } from 'vitest';
import { BASELINE_ID, newCandidateId, newJobId, newProposalId, newSystemId } from '../../src/shared/ids.js';
import type { Page, Store } from '../../src/store/types.js';
import { sampleConfig } from './storeContract.js';

/** Cursor and filter behaviour of every paged list; part of the Store contract (runStoreContract). */
export function pagingContract(ctx: { store: () => Store; tenantId: () => string }): void {
  const makeJob = (tenantId = ctx.tenantId()) => ctx.store().createJob({
    id: newJobId(), tenantId, systemId: newSystemId(), config: sampleConfig, modules: [{ name: 'main', template: 'b' }], correlationId: null, metadata: {},
  });

  let serial = 0;
  /** Zero-padded ids, so rewards stamped in the same millisecond still list in arrival order. */
  const score = async (jobId: string, candidateId: string, reward: number, seed: number | null = 1) => {
    const id = `p${String(serial++).padStart(5, '0')}`;
    await ctx.store().insertRollout({ jobId, id, candidateId, seed, split: 'online', correlationId: null, inputMessages: null });
    await ctx.store().recordReward({ jobId, rolloutId: id, candidateId, reward, split: 'online', seed, metadata: null }, { eventType: 'mipro.reward.received', message: 'r' });
    return id;
  };

  const addCandidates = async (jobId: string, count: number): Promise<string[]> => {
    const now = new Date().toISOString();
    const prop = await ctx.store().startProposal({ jobId, id: newProposalId(), parentId: BASELINE_ID, module: 'main', tip: 't', prompt: [], leaseUntil: new Date(Date.now() + 60_000).toISOString(), now });
    const created = await ctx.store().finishProposal({
      jobId, id: prop!.id, status: 'succeeded', response: null, error: null, events: [],
      candidates: Array.from({ length: count }, () => ({ id: newCandidateId(), parentId: BASELINE_ID, instruction: 'x', module: 'main', instructions: { main: 'x' }, tip: null, proposalId: prop!.id })),
    });
    return created.map((c) => c.id);
  };

  const walk = async <T>(fetch: (cursor: string | null) => Promise<Page<T>>): Promise<T[][]> => {
    const pages: T[][] = [];
    let cursor: string | null = null;
    do {
      const page: Page<T> = await fetch(cursor);
      pages.push(page.items);
      cursor = page.nextCursor;
    } while (cursor && pages.length < 100);
    return pages;
  };

  const otherListing = { details: [{ path: 'cursor', message: expect.stringMatching(/another listing/) }] };

  it('filters seed evals by success in the query: full pages, and no cursor past the last match', async () => {
    const job = await makeJob();
    const rewards = [1, 0, 0, 0.5, 0, 0, 1, 0, -1, 0, 0, 1];
    const ids: string[] = [];
    for (const r of rewards) ids.push(await score(job.id, BASELINE_ID, r));
    const wins = ids.filter((_, i) => rewards[i]! > 0);
    const list = (success: boolean, limit: number) => walk((cursor) => ctx.store().listSeedEvals(job.id, { success, limit, cursor }));

    const won = await list(true, 2);
    expect(won.map((p) => p.map((r) => r.rolloutId))).toEqual([wins.slice(0, 2), wins.slice(2, 4)]);
    expect((await list(true, 4)).map((p) => p.length)).toEqual([4]);
    const lost = await list(false, 5);
    expect(lost.map((p) => p.length)).toEqual([5, 3]);
    expect(lost.flat().every((r) => r.reward <= 0)).toBe(true);
    const none = await ctx.store().listSeedEvals(job.id, { success: true, seed: 99, limit: 5 });
    expect(none).toEqual({ items: [], nextCursor: null });
  });

  it('refuses a cursor issued for another sort, filter or scope', async () => {
    const store = ctx.store();
    const job = await makeJob();
    const [a, b] = await addCandidates(job.id, 3);
    await score(job.id, a!, 0.9);
    await score(job.id, b!, 0.4);
    const first = await store.pageCandidates(job.id, { limit: 1, sort: 'avg_reward:desc' });
    const cursor = first.nextCursor;
    expect(cursor).not.toBeNull();
    // The same columns under another name are the same listing.
    expect((await store.pageCandidates(job.id, { limit: 1, sort: 'objective:desc', cursor })).items).toHaveLength(1);
    for (const opts of [{}, { sort: 'avg_reward:asc' }, { sort: 'avg_reward:desc', status: 'active' as const }]) {
      await expect(store.pageCandidates(job.id, { limit: 1, cursor, ...opts })).rejects.toMatchObject(otherListing);
    }
    const other = await makeJob();
    await expect(store.pageCandidates(other.id, { limit: 1, sort: 'avg_reward:desc', cursor })).rejects.toMatchObject(otherListing);

    const evals = await store.listSeedEvals(job.id, { limit: 1, success: true });
    expect(evals.nextCursor).not.toBeNull();
    for (const opts of [{}, { success: false }, { success: true, split: 'online' as const }]) {
      await expect(store.listSeedEvals(job.id, { limit: 1, cursor: evals.nextCursor, ...opts })).rejects.toMatchObject(otherListing);
    }
    await expect(store.listRewards(job.id, { limit: 1, cursor: evals.nextCursor })).rejects.toMatchObject(otherListing);
    const rewards = await store.listRewards(job.id, { limit: 1 });
    await expect(store.listRewards(other.id, { limit: 1, cursor: rewards.nextCursor })).rejects.toMatchObject(otherListing);

    const jobs = await store.listJobs(ctx.tenantId(), { limit: 1, status: 'running' });
    await expect(store.listJobs(ctx.tenantId(), { limit: 1, cursor: jobs.nextCursor })).rejects.toMatchObject(otherListing);
  });

  it('pages a job\'s proposals newest first, and refuses another job\'s cursor', async () => {
    const store = ctx.store();
    const job = await makeJob();
    for (let i = 0; i < 5; i++) await addCandidates(job.id, 0);
    expect((await walk((cursor) => store.pageProposals(job.id, { limit: 2, cursor }))).map((page) => page.map((p) => p.seq))).toEqual([[5, 4], [3, 2], [1]]);
    const first = await store.pageProposals(job.id, { limit: 2 });
    await expect(store.pageProposals((await makeJob()).id, { limit: 2, cursor: first.nextCursor })).rejects.toMatchObject(otherListing);
    await expect(store.listRewards(job.id, { limit: 2, cursor: first.nextCursor })).rejects.toMatchObject(otherListing);
  });

  it('walks every candidate sort in pages of one, in the order of one big page (ties and mixed directions)', async () => {
    const job = await makeJob();
    const [a, b, c] = await addCandidates(job.id, 4);
    // Equal means that are not exact binary fractions: the keyset must compare them equal after a round trip.
    for (const [id, rs] of [[a!, [1, 0, 0]], [b!, [0, 0, 1]], [c!, [0.7]]] as const) for (const r of rs) await score(job.id, id, r);
    for (const sort of [undefined, 'avg_reward:desc', 'avg_reward:asc,created_at:desc', 'reward_count:desc,val_score:asc', 'created_at:desc']) {
      const all = await ctx.store().pageCandidates(job.id, { limit: 100, ...(sort ? { sort } : {}) });
      const pages = await walk((cursor) => ctx.store().pageCandidates(job.id, { limit: 1, cursor, ...(sort ? { sort } : {}) }));
      expect(pages.flat().map((x) => x.id), sort).toEqual(all.items.map((x) => x.id));
      expect(pages).toHaveLength(5);
    }
  });

  it('pages a score sort by keyset: a candidate whose score drops does not make the next page skip another', async () => {
    const job = await makeJob();
    const ids = await addCandidates(job.id, 5);
    for (const [i, id] of ids.entries()) await score(job.id, id, 0.9 - i / 10);
    const [a, b, c, d, e] = ids;
    const sort = 'avg_reward:desc';
    const first = await ctx.store().pageCandidates(job.id, { limit: 2, sort });
    expect(first.items.map((x) => x.id)).toEqual([a, b]);
    await score(job.id, a!, -0.7); // a falls to 0.1, behind the page boundary
    const second = await ctx.store().pageCandidates(job.id, { limit: 2, sort, cursor: first.nextCursor });
    expect(second.items.map((x) => x.id)).toEqual([c, d]);
    const rest = await ctx.store().pageCandidates(job.id, { limit: 10, sort, cursor: second.nextCursor });
    expect(rest.items.map((x) => x.id)).toEqual([e, a, BASELINE_ID]);
    expect(rest.nextCursor).toBeNull();
  });
}
