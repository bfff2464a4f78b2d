import type { Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/store/schema.js';
import type { JobConfig } from '../../src/schemas/jobConfig.js';
import { BASELINE_ID, newCandidateId, newJobId, newProposalId, newSystemId } from '../../src/shared/ids.js';
import type { NewEvent, Store } from '../../src/store/types.js';
import { MAX_RECORDED_CALLS_PER_ROLLOUT } from '../../src/store/hotPath.js';
import { MAX_UNMATCHED_EVENTS } from '../../src/store/programQueries.js';
import { pagingContract } from './pagingContract.js';

export const sampleConfig: JobConfig = {
  algorithm: 'mipro',
  policy: { model: 'gpt-4o-mini', provider: 'openai', temperature: 0, max_completion_tokens: 256 },
  mipro: {
    mode: 'online', bootstrap_train_seeds: [0, 1], val_seeds: [100], online_pool: [0, 1, 2],
    online_proposer_mode: 'inline', online_proposer_min_rollouts: 5, online_rollouts_per_candidate: 2,
    online_proposer_max_candidates: 20, max_modules: 8, reward_range: [0, 1], guard: 'alert', max_demos: 4,
    proposer: { mode: 'instruction_only', model: 'gpt-4o-mini', provider: 'openai', temperature: 0.7, max_tokens: 512, instructions_per_batch: 2 },
  },
};

/** The behaviour every Store must have; run against SQLite and PostgreSQL (and any future fake). */
export function runStoreContract(name: string, open: () => Promise<Store>, cleanup: () => Promise<void> = async () => {}): void {
  describe(`Store contract: ${name}`, () => {
    let store: Store;
    let tenantId: string;
    beforeAll(async () => {
      store = await open();
      tenantId = (await store.createTenant('acme')).id;
    });
    afterAll(async () => {
      await store.close();
      await cleanup();
    });

    const makeJob = (baseline: string | null = 'You classify intents.') =>
      store.createJob({
        id: newJobId(), tenantId, systemId: newSystemId(), config: sampleConfig,
        modules: baseline === null ? [] : [{ name: 'main', template: baseline }], correlationId: null, metadata: { a: 1 },
      });

    it('creates a job with its baseline candidate and a creation event', async () => {
      const job = await makeJob();
      expect(job.status).toBe('running');
      expect(job.config).toEqual(sampleConfig);
      expect(job.metadata).toEqual({ a: 1 });
      expect(await store.getJobBySystemId(job.systemId)).toMatchObject({ id: job.id });
      const cands = await store.listCandidates(job.id);
      expect(cands.map((c) => c.id)).toEqual([BASELINE_ID]);
      const events = await store.listEvents(job.id, 0, 10);
      expect(events).toHaveLength(1);
      expect(events[0]).toMatchObject({ seq: 1, eventType: 'mipro.job.status' });
    });

    it('stores API keys by hash and forgets revoked ones', async () => {
      const k = await store.createApiKey({ tenantId, name: 'ci', keyHash: 'h1-' + name, prefix: 'mpx_abc' + name });
      expect((await store.findActiveApiKey('h1-' + name))?.id).toBe(k.id);
      expect(await store.revokeApiKey(k.id)).toBe(true);
      expect(await store.revokeApiKey(k.id)).toBe(false);
      expect(await store.findActiveApiKey('h1-' + name)).toBeNull();
      expect((await store.listApiKeys()).find((x) => x.id === k.id)?.revokedAt).not.toBeNull();
    });

    it('makes a new tenant and its first key together, or neither', async () => {
      const db = (store as unknown as { db: Kysely<Database> }).db;
      const tenants = async () => (await db.selectFrom('tenants').select('id').execute()).length;
      const k = await store.createTenantWithKey({ name: 'team-' + name, keyHash: 'tk1-' + name, prefix: 'mpx_tk1' });
      expect(await store.getTenant(k.tenantId)).toMatchObject({ name: 'team-' + name });
      expect(await store.findActiveApiKey('tk1-' + name)).toMatchObject({ id: k.id, tenantId: k.tenantId, name: 'team-' + name });
      // The key insert fails (the hash is taken): no tenant may stay behind without a key.
      const before = await tenants();
      await expect(store.createTenantWithKey({ name: 'dup-' + name, keyHash: 'tk1-' + name, prefix: 'mpx_tk2' })).rejects.toThrow();
      expect(await tenants()).toBe(before);
    });

    it('seeds a configured key once, never revives it, and puts a new value in the tenant of the last one', async () => {
      const seed = (hash: string) => store.seedApiKey({ name: 'seeded-' + name, keyHash: hash, prefix: 'mpx_seed' });
      expect(await seed('s1-' + name)).toBe('created');
      expect(await seed('s1-' + name)).toBe('active');
      const first = (await store.listApiKeys()).find((k) => k.name === 'seeded-' + name)!;
      expect(await store.revokeApiKey(first.id)).toBe(true);
      expect(await seed('s1-' + name)).toBe('revoked');
      expect(await seed('s2-' + name)).toBe('created');
      const seeded = (await store.listApiKeys()).filter((k) => k.name === 'seeded-' + name);
      expect(seeded.map((k) => k.tenantId)).toEqual([first.tenantId, first.tenantId]);
      expect(await store.findActiveApiKey('s2-' + name)).toMatchObject({ tenantId: first.tenantId });
    });

    it('lists jobs newest first with a stable cursor and a status filter', async () => {
      const other = (await store.createTenant('other')).id;
      const ids: string[] = [];
      for (let i = 0; i < 5; i++) {
        const j = await store.createJob({ id: newJobId(), tenantId: other, systemId: newSystemId(), config: sampleConfig, modules: [], correlationId: null, metadata: {} });
        ids.push(j.id);
      }
      const seen: string[] = [];
      let cursor: string | null = null;
      do {
        const page = await store.listJobs(other, { limit: 2, cursor });
        seen.push(...page.items.map((j) => j.id));
        cursor = page.nextCursor;
      } while (cursor);
      expect(new Set(seen)).toEqual(new Set(ids));
      expect(seen).toHaveLength(5);
      await store.transitionJob(ids[0]!, ['running'], 'paused', { eventType: 'mipro.job.status', message: 'paused' });
      const paused = await store.listJobs(other, { limit: 10, status: 'paused' });
      expect(paused.items.map((j) => j.id)).toEqual([ids[0]]);
      await expect(store.listJobs(other, { limit: 2, cursor: "garbage!" })).rejects.toThrow(/cursor/);
    });

    it('keeps monitor rewards out of every statistic and counter, and records what a finished job serves', async () => {
      const job = await makeJob();
      await store.insertRollout({ jobId: job.id, id: 'm1', candidateId: BASELINE_ID, seed: null, split: 'monitor', correlationId: null, inputMessages: null });
      const before = await store.getCandidate(job.id, BASELINE_ID);
      const outcome = await store.recordReward({ jobId: job.id, rolloutId: 'm1', candidateId: BASELINE_ID, reward: 1, split: 'monitor', seed: null, metadata: null }, { eventType: 'mipro.reward.received', message: 'm' });
      expect(outcome.duplicate).toBe(false);
      expect(outcome.job).toMatchObject({ rewardCount: 0, rewardsSinceProposal: 0 });
      const after = await store.getCandidate(job.id, BASELINE_ID);
      expect([after?.online, after?.val]).toEqual([before?.online, before?.val]);
      expect((await store.listRewards(job.id, { limit: 5 })).items.map((r) => r.split)).toEqual(['monitor']);
      const ended = await store.transitionJob(job.id, ['running'], 'succeeded', { eventType: 'mipro.job.status', message: 'done' }, 'baseline');
      expect(ended?.servedCandidateId).toBe('baseline');
    });

    it('keeps monitored rewards as their own moments, and trips the guard once for what the job serves', async () => {
      const job = await makeJob();
      const monitored = [1, 0, 0, 2];
      for (const [i, x] of monitored.entries()) {
        await store.recordReward({ jobId: job.id, rolloutId: `g${i}`, candidateId: BASELINE_ID, reward: x, split: 'monitor', seed: null, metadata: null }, { eventType: 'mipro.reward.received', message: 'm' });
      }
      const c = await store.getCandidate(job.id, BASELINE_ID);
      expect(c?.monitor.n).toBe(4);
      expect(c?.monitor.mean).toBeCloseTo(0.75, 12);
      expect(c?.monitor.m2).toBeCloseTo(2.75, 12);
      expect(c?.monitorInUnitInterval).toBe(false);
      expect(c?.online.n).toBe(0);
      const event: NewEvent = { eventType: 'mipro.guard.tripped', message: 'tripped' };
      // Only a finished job serving that candidate can trip.
      expect(await store.tripGuard(job.id, BASELINE_ID, null, event)).toBeNull();
      await store.transitionJob(job.id, ['running'], 'succeeded', { eventType: 'mipro.job.status', message: 'done' }, BASELINE_ID);
      expect(await store.tripGuard(job.id, 'cand_other', null, event)).toBeNull();
      const tripped = await store.tripGuard(job.id, BASELINE_ID, null, event);
      expect(tripped).toMatchObject({ guardTrippedCandidateId: BASELINE_ID, servedCandidateId: BASELINE_ID });
      expect(await store.tripGuard(job.id, BASELINE_ID, null, event)).toBeNull();
      const events = await store.listEvents(job.id, 0, 100);
      expect(events.filter((e) => e.eventType === 'mipro.guard.tripped')).toHaveLength(1);
      // The job's latest event of a type (job views read when the guard tripped from it).
      expect(await store.latestEvent(job.id, 'mipro.guard.tripped')).toEqual(events.find((e) => e.eventType === 'mipro.guard.tripped'));
      expect((await store.latestEvent(job.id, 'mipro.reward.received'))?.seq).toBe(Math.max(...events.filter((e) => e.eventType === 'mipro.reward.received').map((e) => e.seq)));
      expect(await store.latestEvent(job.id, 'mipro.proposal.skipped')).toBeNull();
      // A promote serves a candidate afresh: the guard watches it again.
      const promoted = await store.transitionJob(job.id, ['succeeded'], 'succeeded', { eventType: 'mipro.candidate.promoted', message: 'p' }, BASELINE_ID);
      expect(promoted?.guardTrippedCandidateId).toBeNull();
    });

    it('moves job status only from the allowed states', async () => {
      const job = await makeJob();
      expect(await store.transitionJob(job.id, ['paused'], 'running', { eventType: 'mipro.job.status', message: 'x' })).toBeNull();
      const cancelled = await store.transitionJob(job.id, ['running', 'paused'], 'cancelled', { eventType: 'mipro.job.status', message: 'cancelled' });
      expect(cancelled?.status).toBe('cancelled');
      expect(await store.transitionJob(job.id, ['running', 'paused'], 'running', { eventType: 'mipro.job.status', message: 'x' })).toBeNull();
    });

    it('discovers modules once per text and name, up to the cap, and the first becomes the baseline text', async () => {
      const job = await makeJob(null);
      expect((await store.listCandidates(job.id)).map((c) => c.id)).toEqual([BASELINE_ID]);
      expect(await store.listModules(job.id)).toEqual([]);
      await store.discoverModule(job.id, { name: null, template: 'first', max: 2 });
      await store.discoverModule(job.id, { name: null, template: 'first', max: 2 });
      await store.discoverModule(job.id, { name: 'planner', template: 'plan {goal}', max: 2 });
      const full = await store.discoverModule(job.id, { name: null, template: 'third', max: 2 });
      expect(full.map((m) => [m.name, m.template, m.origin])).toEqual([['m1', 'first', 'discovered'], ['planner', 'plan {goal}', 'discovered']]);
      expect((await store.getJob(job.id))?.baselineInstruction).toBe('first');
      expect((await store.listCandidates(job.id)).map((c) => c.instruction)).toEqual(['first']);
      const events = await store.listEvents(job.id, 0, 10);
      expect(events.filter((e) => e.eventType === 'mipro.module.discovered')).toHaveLength(2);
    });

    it('creates declared modules in order and reports an unmatched text once', async () => {
      const job = await store.createJob({
        id: newJobId(), tenantId, systemId: newSystemId(), config: sampleConfig, correlationId: null, metadata: {},
        modules: [{ name: 'extract', template: 'Extract.' }, { name: 'answer', template: 'Answer from {context}' }],
      });
      expect((await store.listModules(job.id)).map((m) => [m.name, m.ordinal, m.origin])).toEqual([['extract', 0, 'declared'], ['answer', 1, 'declared']]);
      const event: NewEvent = { eventType: 'mipro.module.unmatched', message: 'unmatched' };
      expect(await store.recordUnmatched(job.id, 'h1', event)).toBe(true);
      expect(await store.recordUnmatched(job.id, 'h1', event)).toBe(false);
      expect(await store.recordUnmatched(job.id, 'h2', event)).toBe(true);
      expect((await store.listEvents(job.id, 0, 10)).filter((e) => e.eventType === 'mipro.module.unmatched')).toHaveLength(2);
    });

    it('stops writing unmatched events past the cap but keeps counting the texts', async () => {
      const job = await makeJob();
      const event: NewEvent = { eventType: 'mipro.module.unmatched', message: 'unmatched', data: { reason: 'no_match' } };
      for (let i = 0; i < MAX_UNMATCHED_EVENTS + 3; i++) expect(await store.recordUnmatched(job.id, `h${i}`, event)).toBe(true);
      const events = (await store.listEvents(job.id, 0, 1000)).filter((e) => e.eventType === 'mipro.module.unmatched');
      expect(events).toHaveLength(MAX_UNMATCHED_EVENTS + 1);
      expect(events.filter((e) => e.data.last_reported === true)).toHaveLength(1);
      expect(events.at(-1)!.data).toEqual({ reason: 'no_match', last_reported: true });
      expect(events.at(-1)!.message).toMatch(/last such event: 101 distinct texts have matched no module/);
      expect(await store.unmatchedPromptCount(job.id)).toBe(MAX_UNMATCHED_EVENTS + 3);
    });

    it('builds an unmatched event only when it writes one, and past the cap counts new texts alone', async () => {
      const job = await makeJob();
      let built = 0;
      const event = (): NewEvent => {
        built++;
        return { eventType: 'mipro.module.unmatched', message: 'unmatched', data: { reason: 'no_match' } };
      };
      for (let i = 0; i < MAX_UNMATCHED_EVENTS + 3; i++) expect(await store.recordUnmatched(job.id, `h${i}`, event)).toBe(true);
      expect(built).toBe(MAX_UNMATCHED_EVENTS + 1);
      // Past the cap (this store now knows it): seen texts stay seen, new ones are counted, no event.
      expect(await store.recordUnmatched(job.id, 'h0', event)).toBe(false);
      expect(await store.recordUnmatched(job.id, `h${MAX_UNMATCHED_EVENTS + 2}`, event)).toBe(false);
      expect(await store.recordUnmatched(job.id, 'new', event)).toBe(true);
      expect(built).toBe(MAX_UNMATCHED_EVENTS + 1);
      const events = (await store.listEvents(job.id, 0, 1000)).filter((e) => e.eventType === 'mipro.module.unmatched');
      expect(events).toHaveLength(MAX_UNMATCHED_EVENTS + 1);
      expect(events.at(-1)!.data).toEqual({ reason: 'no_match', last_reported: true });
      expect(await store.unmatchedPromptCount(job.id)).toBe(MAX_UNMATCHED_EVENTS + 4);
      // Another job is not past its cap because this one is.
      const other = await makeJob();
      expect(await store.recordUnmatched(other.id, 'h0', event)).toBe(true);
      expect(built).toBe(MAX_UNMATCHED_EVENTS + 2);
    });

    it('records rollouts, dispatches and calls', async () => {
      const job = await makeJob();
      expect(await store.insertRollout({ jobId: job.id, id: 'r1', candidateId: BASELINE_ID, seed: 3, split: 'online', correlationId: 'c1', inputMessages: [{ role: 'user', content: 'hi' }] })).toBe(true);
      expect(await store.insertRollout({ jobId: job.id, id: 'r1', candidateId: BASELINE_ID, seed: 3, split: 'online', correlationId: 'c1', inputMessages: null })).toBe(false);
      await store.completeRolloutCall(job.id, 'r1', { outputText: 'hello', latencyMs: 12.5, usage: { total_tokens: 3 }, failed: false, inputMessages: null, module: 'main', variables: null });
      await store.completeRolloutCall(job.id, 'r1', {
        outputText: 'second', latencyMs: 3, usage: null, failed: false, inputMessages: [{ role: 'user', content: 'again' }], module: null, variables: { x: '1' },
      });
      const r = await store.getRollout(job.id, 'r1');
      expect(r).toMatchObject({ candidateId: BASELINE_ID, seed: 3, outputText: 'second', callCount: 2, status: 'completed' });
      expect(r?.inputMessages).toEqual([{ role: 'user', content: 'hi' }]);
      const calls = await store.rolloutCalls(job.id, ['r1']);
      expect(calls.map((c) => [c.seq, c.module, c.outputText, c.variables])).toEqual([[1, 'main', 'hello', null], [2, null, 'second', { x: '1' }]]);
      expect(calls[1]?.inputMessages).toEqual([{ role: 'user', content: 'again' }]);
      expect((await store.callModules(job.id, ['r1'])).get('r1')).toEqual(['main', null]);
      expect(await store.moduleCallOrder(job.id)).toEqual(['main']);
      expect((await store.latestRolloutForCorrelation(job.id, 'c1'))?.id).toBe('r1');
      expect((await store.getCandidate(job.id, BASELINE_ID))?.dispatches).toBe(1);
      expect((await store.getJob(job.id))?.rolloutCount).toBe(1);
      expect(await store.rolloutSplitCounts(job.id)).toEqual({ bootstrap: 0, online: 1, val: 0, monitor: 0 });
    });

    it('orders the called modules, a module called once in thousands of calls included, and leaves out modules never called', async () => {
      const job = await store.createJob({
        id: newJobId(), tenantId, systemId: newSystemId(), config: sampleConfig, correlationId: null, metadata: {},
        modules: [{ name: 'fallback', template: 'Fall back.' }, { name: 'answer', template: 'Answer.' }, { name: 'never', template: 'Never called.' }, { name: 'extract', template: 'Extract.' }],
      });
      const call = (rolloutId: string, module: string | null) => store.completeRolloutCall(job.id, rolloutId, {
        outputText: 'o', latencyMs: 1, usage: null, failed: false, inputMessages: null, module, variables: null,
      });
      const rollout = (id: string) => store.insertRollout({ jobId: job.id, id, candidateId: BASELINE_ID, seed: null, split: 'online', correlationId: null, inputMessages: null });
      // The one rollout whose answer needed the fallback, long before the calls that follow.
      await rollout('rare');
      for (const m of ['extract', 'answer', 'fallback']) await call('rare', m);
      await new Promise((r) => setTimeout(r, 10));
      // 2,400 calls of the usual program since (and calls of no module), in batches as concurrent rollouts arrive.
      for (let r = 0; r < 1200; r += 100) {
        const ids = Array.from({ length: 100 }, (_, k) => `usual${r + k}`);
        await Promise.all(ids.map(rollout));
        for (const m of ['extract', 'answer', null]) await Promise.all(ids.map((id) => call(id, m)));
      }
      expect(await store.moduleCallOrder(job.id)).toEqual(['extract', 'answer', 'fallback']);
    });

    it('schedules no training rollout on a job that ended after the scheduler read it, only a monitoring one', async () => {
      const job = await makeJob();
      const started = (id: string): NewEvent => ({ eventType: 'mipro.rollout.started', message: id, data: { rollout_id: id } });
      const scheduled = (id: string, split: 'online' | 'bootstrap' | 'val' | 'monitor') =>
        store.insertScheduledRollout({ jobId: job.id, id, candidateId: BASELINE_ID, seed: 1, split, correlationId: null, inputMessages: null }, started(id));
      expect(await scheduled('s-before', 'online')).toBe(true);
      await store.transitionJob(job.id, ['running'], 'cancelled', { eventType: 'mipro.job.status', message: 'cancelled in a test' });
      for (const split of ['online', 'bootstrap', 'val'] as const) expect(await scheduled(`s-${split}`, split), split).toBe(false);
      expect(await scheduled('s-monitor', 'monitor')).toBe(true);
      expect(await store.rolloutSplitCounts(job.id)).toEqual({ bootstrap: 0, online: 1, val: 0, monitor: 1 });
      expect((await store.getJob(job.id))?.rolloutCount).toBe(2);
    });

    it('counts every call of a rollout but records at most MAX_RECORDED_CALLS_PER_ROLLOUT of them', async () => {
      const job = await makeJob();
      await store.insertRollout({ jobId: job.id, id: 'many', candidateId: BASELINE_ID, seed: 1, split: 'online', correlationId: null, inputMessages: null });
      const call = (i: number) => store.completeRolloutCall(job.id, 'many', { outputText: `o${i}`, latencyMs: 1, usage: null, failed: false, inputMessages: null, module: 'main', variables: null });
      // In batches, as concurrent calls arrive (the PostgreSQL store writes each batch in one statement).
      for (let i = 0; i < MAX_RECORDED_CALLS_PER_ROLLOUT + 4; i += 10) await Promise.all(Array.from({ length: Math.min(10, MAX_RECORDED_CALLS_PER_ROLLOUT + 4 - i) }, (_, k) => call(i + k)));
      expect((await store.getRollout(job.id, 'many'))?.callCount).toBe(MAX_RECORDED_CALLS_PER_ROLLOUT + 4);
      const calls = await store.rolloutCalls(job.id, ['many']);
      expect(calls.map((c) => c.seq)).toEqual(Array.from({ length: MAX_RECORDED_CALLS_PER_ROLLOUT }, (_, i) => i + 1));
      // What the proposer's grounding reads: one module's first calls of each rollout, no more.
      expect((await store.rolloutCalls(job.id, ['many', 'none'], { module: 'main', perRollout: 2 })).map((c) => [c.rolloutId, c.seq])).toEqual([['many', 1], ['many', 2]]);
      expect(await store.rolloutCalls(job.id, ['many'], { module: 'other', perRollout: 2 })).toEqual([]);
      // And its last ones (a tool loop's final answer), still in call order.
      const n = MAX_RECORDED_CALLS_PER_ROLLOUT;
      expect((await store.rolloutCalls(job.id, ['many', 'none'], { module: 'main', perRollout: 2, fromEnd: true })).map((c) => [c.rolloutId, c.seq])).toEqual([['many', n - 1], ['many', n]]);
    });

    it('stores a reward on its rollout when the rollout is stored, and never makes a rollout up', async () => {
      const job = await makeJob();
      const event: NewEvent = { eventType: 'mipro.reward.received', message: 'r' };
      await store.insertRollout({ jobId: job.id, id: 's1', candidateId: BASELINE_ID, seed: 1, split: 'online', correlationId: null, inputMessages: null });
      await store.insertRollout({ jobId: job.id, id: 's2', candidateId: BASELINE_ID, seed: 2, split: 'online', correlationId: null, inputMessages: null });
      await store.recordReward({ jobId: job.id, rolloutId: 's1', candidateId: BASELINE_ID, reward: 0.25, split: 'online', seed: 1, metadata: null, rolloutStored: true }, event);
      await store.recordReward({ jobId: job.id, rolloutId: 's2', candidateId: BASELINE_ID, reward: 0.5, split: 'online', seed: 2, metadata: null }, event);
      // Reported by candidate_id only: a reward without a rollout record.
      await store.recordReward({ jobId: job.id, rolloutId: 'rw_none', candidateId: BASELINE_ID, reward: 1, split: 'online', seed: null, metadata: null, rolloutStored: false }, event);
      expect((await store.getRollout(job.id, 's1'))?.reward).toBe(0.25);
      expect((await store.getRollout(job.id, 's2'))?.reward).toBe(0.5);
      expect(await store.getRollout(job.id, 'rw_none')).toBeNull();
      expect((await store.getCandidate(job.id, BASELINE_ID))?.online.n).toBe(3);
    });

    it('counts a reward once, updates Welford statistics exactly', async () => {
      const job = await makeJob();
      const rewards = [1, 0, 1, 1, 0.5];
      for (const [i, x] of rewards.entries()) {
        await store.insertRollout({ jobId: job.id, id: `r${i}`, candidateId: BASELINE_ID, seed: i, split: 'online', correlationId: null, inputMessages: [] });
        const out = await store.recordReward({ jobId: job.id, rolloutId: `r${i}`, candidateId: BASELINE_ID, reward: x, split: 'online', seed: i, metadata: null }, { eventType: 'mipro.reward.received', message: 'r' });
        expect(out.duplicate).toBe(false);
      }
      const dup = await store.recordReward({ jobId: job.id, rolloutId: 'r0', candidateId: BASELINE_ID, reward: 0, split: 'online', seed: 0, metadata: null }, { eventType: 'mipro.reward.received', message: 'r' });
      expect(dup.duplicate).toBe(true);
      expect(dup.reward.reward).toBe(1);
      const c = await store.getCandidate(job.id, BASELINE_ID);
      const mean = rewards.reduce((a, b) => a + b, 0) / rewards.length;
      const m2 = rewards.reduce((a, b) => a + (b - mean) ** 2, 0);
      expect(c?.online.n).toBe(5);
      expect(c?.online.mean).toBeCloseTo(mean, 12);
      expect(c?.online.m2).toBeCloseTo(m2, 12);
      expect(c?.rewardsInUnitInterval).toBe(true);
      const j = await store.getJob(job.id);
      expect(j).toMatchObject({ rewardCount: 5, rewardsSinceProposal: 5 });
      expect((await store.getRollout(job.id, 'r1'))?.reward).toBe(0);
      const worst = await store.rewardedRollouts(job.id, BASELINE_ID, { order: 'worst', limit: 2 });
      expect(worst.map((r) => r.reward)).toEqual([0, 0.5]);
      const evals = await store.listSeedEvals(job.id, { limit: 3 });
      expect(evals.items).toHaveLength(3);
      expect(evals.nextCursor).not.toBeNull();
      const rest = await store.listSeedEvals(job.id, { limit: 3, cursor: evals.nextCursor });
      expect(rest.items).toHaveLength(2);
      // An offset no database integer can hold is a bad cursor (a clear 4xx), not a driver error.
      for (const offset of ['999999999999999999999', '1e308', '-1']) {
        const forged = Buffer.from(offset).toString('base64url');
        await expect(store.listSeedEvals(job.id, { limit: 3, cursor: forged })).rejects.toThrow(/invalid cursor/);
      }
    });

    it('demo sources, feedback and blame come from training rollouts only, never val or monitor', async () => {
      const job = await makeJob();
      const add = async (id: string, split: 'bootstrap' | 'online' | 'val' | 'monitor', reward: number, module = 'main') => {
        await store.insertRollout({ jobId: job.id, id, candidateId: BASELINE_ID, seed: null, split, correlationId: null, inputMessages: null });
        await store.completeRolloutCall(job.id, id, { outputText: `out ${id}`, latencyMs: 1, usage: null, failed: false, inputMessages: [{ role: 'user', content: id }], module, variables: null });
        await store.recordReward({ jobId: job.id, rolloutId: id, candidateId: BASELINE_ID, reward, split, seed: null, metadata: null,
          feedback: `why ${id}`, feedbackByModule: { main: `blame ${id}` } }, { eventType: 'mipro.reward.received', message: 'r' });
      };
      await add('b1', 'bootstrap', 1);
      await add('o1', 'online', 0.9);
      await add('o2', 'online', 0.2);
      await add('o3', 'online', 1, 'other');
      await add('v1', 'val', 1);
      await add('m1', 'monitor', 0);
      const sources = await store.demoSourceCalls(job.id, 'main', { minReward: 0.5, limit: 10 });
      expect(sources.map((c) => c.rolloutId)).toEqual(['b1', 'o1']);
      expect(sources[0]).toMatchObject({ split: 'bootstrap', reward: 1, outputText: 'out b1', inputMessages: [{ role: 'user', content: 'b1' }], failed: false });
      const feedback = await store.rolloutFeedback(job.id, ['b1', 'o2', 'v1', 'm1']);
      expect([...feedback.keys()].sort()).toEqual(['b1', 'o2']);
      expect(feedback.get('o2')).toEqual({ feedback: 'why o2', byModule: { main: 'blame o2' } });
      expect(await store.moduleBlame(job.id, { below: 0.5, limit: 10 })).toEqual({ main: 1 });
      expect((await store.getCandidate(job.id, BASELINE_ID))?.demos).toEqual({});
    });

    it('keeps a templated module\'s demo variables in the candidate\'s demos, in order, beside demos without any; hands the pool each call\'s variables', async () => {
      const job = await makeJob();
      await store.insertRollout({ jobId: job.id, id: 'rv', candidateId: BASELINE_ID, seed: null, split: 'online', correlationId: null, inputMessages: null });
      await store.completeRolloutCall(job.id, 'rv', { outputText: 'A', latencyMs: 1, usage: null, failed: false, inputMessages: [{ role: 'user', content: 'Q' }], module: 'answer', variables: { context: 'CTX', user: 'Ada' } });
      await store.recordReward({ jobId: job.id, rolloutId: 'rv', candidateId: BASELINE_ID, reward: 1, split: 'online', seed: null, metadata: null }, { eventType: 'mipro.reward.received', message: 'r' });
      expect((await store.demoSourceCalls(job.id, 'answer', { minReward: 1, limit: 10 })).map((c) => c.variables)).toEqual([{ context: 'CTX', user: 'Ada' }]);
      // The plain module's demo is stored as demos were before they could carry variables.
      const demos = {
        main: [{ input: [{ role: 'user' as const, content: 'q' }], output: 'a', rolloutId: 'r1' }],
        answer: [{ input: [{ role: 'user' as const, content: 'Q' }], output: 'A', rolloutId: 'rv', variables: { user: 'Ada', context: 'CTX' } }],
      };
      const id = newCandidateId();
      await store.addCandidate(job.id, { id, parentId: BASELINE_ID, instruction: 'x', module: null, instructions: { main: 'x' }, demos, tip: null, proposalId: null }, 20);
      const read = (await store.getCandidate(job.id, id))!.demos;
      expect(read).toEqual(demos);
      expect(Object.keys(read.answer![0]!.variables!)).toEqual(['user', 'context']);
      expect(Object.keys(read.main![0]!)).toEqual(['input', 'output', 'rolloutId']);
    });

    it('keeps val rewards apart from online statistics and the proposal counter', async () => {
      const job = await makeJob();
      await store.insertRollout({ jobId: job.id, id: 'v1', candidateId: BASELINE_ID, seed: 100, split: 'val', correlationId: null, inputMessages: null });
      await store.recordReward({ jobId: job.id, rolloutId: 'v1', candidateId: BASELINE_ID, reward: 7, split: 'val', seed: 100, metadata: { k: 'v' } }, { eventType: 'mipro.reward.received', message: 'r' });
      const c = await store.getCandidate(job.id, BASELINE_ID);
      expect(c?.val).toMatchObject({ n: 1, mean: 7 });
      expect(c?.online.n).toBe(0);
      expect((await store.getJob(job.id))?.rewardsSinceProposal).toBe(0);
      expect((await store.listSeedEvals(job.id, { limit: 10, split: 'val' })).items[0]?.metadata).toEqual({ k: 'v' });
    });

    it('reports when val seeds were dispatched, for the candidates asked about only', async () => {
      const job = await makeJob();
      const before = Date.now();
      await store.insertRollout({ jobId: job.id, id: 'vt1', candidateId: BASELINE_ID, seed: 100, split: 'val', correlationId: null, inputMessages: null });
      await store.insertRollout({ jobId: job.id, id: 'vt2', candidateId: BASELINE_ID, seed: 101, split: 'val', correlationId: null, inputMessages: null });
      await store.insertRollout({ jobId: job.id, id: 'vt3', candidateId: BASELINE_ID, seed: 5, split: 'online', correlationId: null, inputMessages: null });
      const times = await store.valRunTimes(job.id, [BASELINE_ID, 'cand_none']);
      expect([...times.keys()]).toEqual([BASELINE_ID]);
      const bySeed = times.get(BASELINE_ID)!;
      expect(Object.keys(bySeed).map(Number).sort()).toEqual([100, 101]);
      expect(bySeed[100]).toBeGreaterThanOrEqual(before - 1000);
      expect(bySeed[101]).toBeGreaterThanOrEqual(bySeed[100]!);
      expect((await store.valRunTimes(job.id, [])).size).toBe(0);
    });

    it('reads job views of several jobs at once as each job alone: val rewards cut at each job\'s limit, only the candidates asked', async () => {
      const [a, b, empty] = [await makeJob(), await makeJob(), await makeJob()];
      const val = async (jobId: string, candidateId: string, id: string, seed: number, reward: number) => {
        await store.insertRollout({ jobId, id, candidateId, seed, split: 'val', correlationId: null, inputMessages: null });
        await store.recordReward({ jobId, rolloutId: id, candidateId, reward, split: 'val', seed, metadata: null }, { eventType: 'mipro.reward.received', message: 'r' });
      };
      for (let i = 0; i < 5; i++) await val(a.id, BASELINE_ID, `a${i}`, 100 + i, i);
      for (let i = 0; i < 3; i++) await val(b.id, BASELINE_ID, `b${i}`, 100 + i, 10 + i);
      await store.insertRollout({ jobId: b.id, id: 'b-on', candidateId: BASELINE_ID, seed: 1, split: 'online', correlationId: null, inputMessages: null });
      await store.recordReward({ jobId: b.id, rolloutId: 'b-on', candidateId: BASELINE_ID, reward: 1, split: 'online', seed: 1, metadata: null }, { eventType: 'mipro.reward.received', message: 'r' });
      const sides = [{ jobId: a.id, candidateIds: [BASELINE_ID], limit: 2 }, { jobId: b.id, candidateIds: [BASELINE_ID, 'cand_none'], limit: 10 }, { jobId: empty.id, candidateIds: [], limit: 4 }];
      const rewards = await store.valRewardsOfJobs(sides);
      expect(rewards.get(a.id)).toEqual((await store.listSeedEvals(a.id, { split: 'val', candidateId: BASELINE_ID, limit: 2 })).items);
      expect(rewards.get(a.id)?.map((r) => r.reward)).toEqual([0, 1]);
      expect(rewards.get(b.id)).toEqual((await store.listSeedEvals(b.id, { split: 'val', candidateId: BASELINE_ID, limit: 10 })).items);
      expect(rewards.has(empty.id)).toBe(false);
      const times = await store.valRunTimesOfJobs(sides);
      expect(times.get(a.id)).toEqual(await store.valRunTimes(a.id, [BASELINE_ID]));
      expect(times.get(b.id)).toEqual(await store.valRunTimes(b.id, [BASELINE_ID, 'cand_none']));
      const ids = [a.id, b.id, empty.id];
      const [cells, candidates, modules] = await Promise.all([store.onlineSeedCellsOfJobs(ids), store.candidatesOfJobs(ids), store.modulesOfJobs(ids)]);
      expect(cells.get(b.id)).toEqual(await store.onlineSeedCells(b.id));
      expect(cells.has(a.id)).toBe(false);
      for (const id of ids) {
        expect(candidates.get(id)).toEqual(await store.listCandidates(id));
        expect(modules.get(id)).toEqual(await store.listModules(id));
      }
      expect((await store.valRewardsOfJobs([])).size).toBe(0);
      expect((await store.candidatesOfJobs([])).size).toBe(0);
    });

    it('sums policy usage from call records (concurrent calls included) and proposer usage on the job', async () => {
      const job = await makeJob();
      expect((await store.getJob(job.id))?.usage).toEqual({
        policy: { promptTokens: 0, completionTokens: 0, totalTokens: 0, calls: 0 },
        proposer: { promptTokens: 0, completionTokens: 0, totalTokens: 0, calls: 0 },
      });
      await Promise.all(Array.from({ length: 30 }, async (_, i) => {
        await store.insertRollout({ jobId: job.id, id: `u${i}`, candidateId: BASELINE_ID, seed: null, split: 'online', correlationId: null, inputMessages: null });
        await store.completeRolloutCall(job.id, `u${i}`, {
          outputText: 'x', latencyMs: 1, usage: { prompt_tokens: 10, completion_tokens: 2, total_tokens: 12 }, failed: false, inputMessages: null, module: 'main', variables: null,
        });
      }));
      // No total: prompt + completion. A failed call without usage costs nothing; with usage it counts.
      await store.completeRolloutCall(job.id, 'u0', { outputText: null, latencyMs: 1, usage: { prompt_tokens: 5, completion_tokens: 1 }, failed: false, inputMessages: null, module: 'main', variables: null });
      await store.completeRolloutCall(job.id, 'u1', { outputText: null, latencyMs: 1, usage: null, failed: true, inputMessages: null, module: 'main', variables: null });
      await store.completeRolloutCall(job.id, 'u2', { outputText: null, latencyMs: 1, usage: { prompt_tokens: -4, completion_tokens: 'x' }, failed: false, inputMessages: null, module: 'main', variables: null });
      const after = await store.addProposerUsage(job.id, { promptTokens: 300, completionTokens: 40, totalTokens: 340, calls: 1 });
      expect(after.usage.proposer).toEqual({ promptTokens: 300, completionTokens: 40, totalTokens: 340, calls: 1 });
      await store.addProposerUsage(job.id, { promptTokens: 1, completionTokens: 1, totalTokens: 2, calls: 1 });
      expect((await store.getJob(job.id))?.usage).toEqual({
        policy: { promptTokens: 305, completionTokens: 61, totalTokens: 366, calls: 32 },
        proposer: { promptTokens: 301, completionTokens: 41, totalTokens: 342, calls: 2 },
      });
    });

    it('counts concurrent rewards exactly', async () => {
      const job = await makeJob();
      await Promise.all(Array.from({ length: 40 }, async (_, i) => {
        await store.insertRollout({ jobId: job.id, id: `c${i}`, candidateId: BASELINE_ID, seed: null, split: 'online', correlationId: null, inputMessages: null });
        await store.recordReward({ jobId: job.id, rolloutId: `c${i}`, candidateId: BASELINE_ID, reward: i % 2, split: 'online', seed: null, metadata: null }, { eventType: 'mipro.reward.received', message: 'r' });
        await store.recordReward({ jobId: job.id, rolloutId: `c${i}`, candidateId: BASELINE_ID, reward: 1, split: 'online', seed: null, metadata: null }, { eventType: 'mipro.reward.received', message: 'r' });
      }));
      const c = await store.getCandidate(job.id, BASELINE_ID);
      expect(c?.online.n).toBe(40);
      expect(c?.online.mean).toBeCloseTo(0.5, 12);
      const events = await store.listEvents(job.id, 0, 1000);
      expect(events.map((e) => e.seq)).toEqual(Array.from({ length: 41 }, (_, i) => i + 1));
    });

    it('stores a reward as monitor once the job has ended or reached maxRewards, decided at the write (concurrent rewards exactly)', async () => {
      const job = await makeJob();
      const reward = (id: string, split: 'online' | 'val' = 'online') =>
        store.recordReward({ jobId: job.id, rolloutId: id, candidateId: BASELINE_ID, reward: 1, split, seed: null, metadata: null, rolloutStored: false, maxRewards: 15 }, { eventType: 'mipro.reward.received', message: 'r' });
      const outcomes = await Promise.all(Array.from({ length: 40 }, (_, i) => reward(`x${i}`, i % 10 === 0 ? 'val' : 'online')));
      expect(outcomes.filter((o) => o.reward.split !== 'monitor')).toHaveLength(15);
      const after = await store.getJob(job.id);
      expect(after?.rewardCount).toBe(15);
      const c = await store.getCandidate(job.id, BASELINE_ID);
      expect((c?.online.n ?? 0) + (c?.val.n ?? 0)).toBe(15);
      expect(c?.monitor.n).toBe(25);
      // Ended (another instance's cancel, say): a reward the caller still thinks is online is monitoring.
      const other = await makeJob();
      await store.transitionJob(other.id, ['running'], 'cancelled', { eventType: 'mipro.job.status', message: 'c' }, BASELINE_ID);
      const late = await store.recordReward({ jobId: other.id, rolloutId: 'late', candidateId: BASELINE_ID, reward: 1, split: 'online', seed: null, metadata: null, rolloutStored: false }, { eventType: 'mipro.reward.received', message: 'r', data: { split: 'online' } });
      expect(late.reward.split).toBe('monitor');
      expect((await store.getJob(other.id))?.rewardCount).toBe(0);
      const received = (await store.listEvents(other.id, 0, 100)).filter((e) => e.eventType === 'mipro.reward.received');
      expect(received.map((e) => e.data)).toEqual([{ split: 'monitor' }]);
    });

    it('commits one batch holding several calls of a rollout, a repeated reward and many rewards of one candidate as if one by one', async () => {
      const job = await makeJob();
      const ids = Array.from({ length: 12 }, (_, i) => `b${i}`);
      // Queued in one turn each, so every group below shares one batch (one statement on PostgreSQL).
      await Promise.all(ids.map((id) => store.insertRollout({ jobId: job.id, id, candidateId: BASELINE_ID, seed: null, split: 'online', correlationId: null, inputMessages: null })));
      const call = (n: number) => ({ outputText: `out ${n}`, latencyMs: n, usage: { prompt_tokens: n, completion_tokens: 1 }, failed: false,
        inputMessages: n === 1 ? null : [{ role: 'user', content: `in ${n}` }], module: 'main', variables: null });
      await Promise.all([1, 2, 3].map((n) => store.completeRolloutCall(job.id, 'b0', call(n))));
      const calls = await store.rolloutCalls(job.id, ['b0']);
      expect(calls.map((c) => [c.seq, c.outputText])).toEqual([[1, 'out 1'], [2, 'out 2'], [3, 'out 3']]);
      const b0 = await store.getRollout(job.id, 'b0');
      expect([b0?.callCount, b0?.outputText, b0?.inputMessages]).toEqual([3, 'out 3', [{ role: 'user', content: 'in 2' }]]);
      expect((await store.getJob(job.id))?.usage.policy).toMatchObject({ calls: 3, promptTokens: 6, completionTokens: 3 });

      const scores = [0.9, 0.1, 0.4, 1, 0, 0.75, 0.3, 0.55, 0.2, 0.65, 0.05];
      const event: NewEvent = { eventType: 'mipro.reward.received', message: 'r' };
      const outcomes = await Promise.all([
        ...scores.map((x, i) => store.recordReward({ jobId: job.id, rolloutId: ids[i + 1]!, candidateId: BASELINE_ID, reward: x, split: 'online', seed: null, metadata: null }, event)),
        store.recordReward({ jobId: job.id, rolloutId: 'b1', candidateId: BASELINE_ID, reward: 0.2, split: 'online', seed: null, metadata: null }, event),
      ]);
      expect(outcomes.map((o) => o.duplicate)).toEqual([...scores.map(() => false), true]);
      expect(outcomes.at(-1)?.reward.reward).toBe(0.9); // the first one stays
      let n = 0; let mean = 0; let m2 = 0;
      for (const x of scores) { n++; const d = x - mean; mean += d / n; m2 += d * (x - mean); }
      const c = await store.getCandidate(job.id, BASELINE_ID);
      expect(c?.online.n).toBe(scores.length);
      expect(c?.online.mean).toBeCloseTo(mean, 12);
      expect(c?.online.m2).toBeCloseTo(m2, 12);
      // Every outcome carries moments at least as new as its own reward.
      for (const o of outcomes.slice(0, -1)) expect(o.moments?.online.n).toBeGreaterThanOrEqual(1);
      const after = await store.getJob(job.id);
      expect([after?.rewardCount, after?.rolloutCount]).toEqual([scores.length, ids.length]);
      const events = await store.listEvents(job.id, 0, 1000);
      expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
      expect(events.filter((e) => e.eventType === 'mipro.reward.received')).toHaveLength(scores.length);
    });

    it('commits many concurrent hot-path writes, each acknowledged only once committed', async () => {
      const job = await makeJob();
      const n = 300;
      const acks = await Promise.all(Array.from({ length: n }, async (_, i) => {
        const inserted = await store.insertRollout({ jobId: job.id, id: `g${i}`, candidateId: BASELINE_ID, seed: i, split: 'online', correlationId: null, inputMessages: null });
        await store.completeRolloutCall(job.id, `g${i}`, { outputText: `out ${i}`, latencyMs: 1, usage: null, failed: false, inputMessages: null, module: 'main', variables: null });
        const reward = await store.recordReward({ jobId: job.id, rolloutId: `g${i}`, candidateId: BASELINE_ID, reward: i % 2, split: 'online', seed: i, metadata: null }, { eventType: 'mipro.reward.received', message: 'r' });
        // What was acknowledged is readable right away.
        const row = await store.getRollout(job.id, `g${i}`);
        return inserted && !reward.duplicate && row?.outputText === `out ${i}` && row.reward === i % 2;
      }));
      expect(acks.every(Boolean)).toBe(true);
      const j = await store.getJob(job.id);
      expect(j).toMatchObject({ rolloutCount: n, rewardCount: n });
      expect((await store.getCandidate(job.id, BASELINE_ID))?.online.n).toBe(n);
      expect((await store.getCandidate(job.id, BASELINE_ID))?.dispatches).toBe(n);
    });

    it('fails only the bad write of a group commit; its neighbours commit', async () => {
      const job = await makeJob();
      const write = (jobId: string, id: string) =>
        store.insertRollout({ jobId, id, candidateId: BASELINE_ID, seed: null, split: 'online', correlationId: null, inputMessages: null });
      // Queued in one turn, so they share a batch; the unknown job breaks the rollouts -> jobs foreign key.
      const results = await Promise.allSettled([write(job.id, 'ok1'), write('pl_no_such_job', 'bad'), write(job.id, 'ok2')]);
      expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
      expect(await store.getRollout(job.id, 'ok1')).not.toBeNull();
      expect(await store.getRollout(job.id, 'ok2')).not.toBeNull();
      expect(await store.getRollout('pl_no_such_job', 'bad')).toBeNull();
      expect((await store.getJob(job.id))?.rolloutCount).toBe(2);
    });

    it('commits new rollouts and calls of earlier rollouts queued in one turn, counters equal to the rows', async () => {
      const job = await makeJob();
      const rollout = (jobId: string, id: string) =>
        store.insertRollout({ jobId, id, candidateId: BASELINE_ID, seed: null, split: 'online', correlationId: null, inputMessages: null });
      const call = (id: string) => store.completeRolloutCall(job.id, id, {
        outputText: `out ${id}`, latencyMs: 2, usage: { prompt_tokens: 3, completion_tokens: 1 }, failed: false, inputMessages: null, module: 'main', variables: null,
      });
      const earlier = ['e0', 'e1', 'e2', 'e3'];
      await Promise.all(earlier.map((id) => rollout(job.id, id)));
      // One turn: on PostgreSQL new rollouts and call records share one statement; the bad insert
      // (unknown job) fails alone and its neighbours of both kinds commit.
      const results = await Promise.allSettled([
        ...['n0', 'n1', 'n2'].map((id) => rollout(job.id, id)), ...earlier.map(call), rollout('pl_no_such_job', 'bad'), rollout(job.id, 'e0'),
      ]);
      expect(results.map((r) => r.status)).toEqual([...Array(7).fill('fulfilled'), 'rejected', 'fulfilled']);
      expect(results.map((r) => (r.status === 'fulfilled' ? r.value : null))).toEqual([true, true, true, undefined, undefined, undefined, undefined, null, false]);
      for (const id of earlier) expect(await store.getRollout(job.id, id)).toMatchObject({ callCount: 1, outputText: `out ${id}` });
      for (const id of ['n0', 'n1', 'n2']) expect(await store.getRollout(job.id, id)).toMatchObject({ callCount: 0 });
      const after = await store.getJob(job.id);
      expect(after?.rolloutCount).toBe(7);
      expect(after?.usage.policy).toEqual({ calls: 4, promptTokens: 12, completionTokens: 4, totalTokens: 16 });
      expect((await store.getCandidate(job.id, BASELINE_ID))?.dispatches).toBe(7);
    });

    it('claims a client rollout id: inserts it once, and answers a known id with the stored assignment, writing nothing', async () => {
      const job = await makeJob();
      const other = 'cand_claim_b';
      await store.addCandidate(job.id, { id: other, parentId: BASELINE_ID, instruction: 'b', module: 'main', instructions: { main: 'b' }, tip: null, proposalId: null }, 20);
      const claim = (id: string, candidateId: string, seed: number | null, split: 'online' | 'val' = 'online') =>
        store.claimRollout({ jobId: job.id, id, candidateId, seed, split, correlationId: null, inputMessages: null });
      expect(await claim('k1', BASELINE_ID, 3)).toBeNull();
      expect(await claim('k1', other, 5, 'val')).toEqual({ candidateId: BASELINE_ID, split: 'online', seed: 3 });
      // One turn (one statement on PostgreSQL): two claims of one new id, a known one and a new one.
      const together = await Promise.all([claim('k2', other, 7), claim('k2', BASELINE_ID, 8), claim('k1', other, null), claim('k3', BASELINE_ID, null)]);
      expect(together).toEqual([null, { candidateId: other, split: 'online', seed: 7 }, { candidateId: BASELINE_ID, split: 'online', seed: 3 }, null]);
      expect(await store.getRollout(job.id, 'k2')).toMatchObject({ candidateId: other, seed: 7 });
      // Counters equal the rows: three rollouts, one each per insert.
      expect((await store.getJob(job.id))?.rolloutCount).toBe(3);
      expect((await store.getCandidate(job.id, BASELINE_ID))?.dispatches).toBe(2);
      expect((await store.getCandidate(job.id, other))?.dispatches).toBe(1);
    });

    it('tags a rollout with a later call\'s correlation id only where it has none', async () => {
      const job = await makeJob();
      expect(await store.insertRollout({ jobId: job.id, id: 'c1', candidateId: BASELINE_ID, seed: null, split: 'online', correlationId: null, inputMessages: null })).toBe(true);
      expect(await store.tagRolloutCorrelation(job.id, 'c1', 'conv-a')).toBe('conv-a');
      expect(await store.tagRolloutCorrelation(job.id, 'c1', 'conv-b')).toBe('conv-a'); // never changed once set
      expect((await store.getRollout(job.id, 'c1'))?.correlationId).toBe('conv-a');
      expect((await store.latestRolloutForCorrelation(job.id, 'conv-a'))?.id).toBe('c1');
      expect(await store.tagRolloutCorrelation(job.id, 'not-stored', 'conv-a')).toBeUndefined();
    });

    it('lets exactly one proposal run per job, and releases an expired lease', async () => {
      const job = await makeJob();
      const now = new Date().toISOString();
      const later = new Date(Date.now() + 60_000).toISOString();
      const starts = await Promise.all([1, 2, 3].map(() =>
        store.startProposal({ jobId: job.id, id: newProposalId(), parentId: BASELINE_ID, module: 'main', tip: 'none', prompt: [{ role: 'user', content: 'p' }], leaseUntil: later, now })));
      const won = starts.filter((s) => s !== null);
      expect(won).toHaveLength(1);
      const prop = won[0]!;
      const cid = newCandidateId();
      const created = await store.finishProposal({
        jobId: job.id, id: prop.id, status: 'succeeded', response: '{"instructions":["x"]}', error: null,
        candidates: [{ id: cid, parentId: BASELINE_ID, instruction: 'better', module: 'main', instructions: { main: 'better' }, tip: 'none', proposalId: prop.id }],
        events: [{ eventType: 'mipro.proposal.created', message: 'one', data: { candidate_ids: [cid] } }],
      });
      expect(created.map((c) => [c.id, c.ordinal])).toEqual([[cid, 1]]);
      expect((await store.findCandidatesById(cid, tenantId, 10))[0]?.jobId).toBe(job.id);
      expect(await store.findCandidatesById(cid, (await store.createTenant('other')).id, 10)).toEqual([]);
      const props = await store.listProposals(job.id, 10);
      // Without a prompt at the finish, the one stored at the start stays.
      expect(props[0]).toMatchObject({ status: 'succeeded', candidateIds: [cid], seq: 1, prompt: [{ role: 'user', content: 'p' }] });
      // A lease that ran out is taken over.
      const stale = await store.startProposal({ jobId: job.id, id: newProposalId(), parentId: BASELINE_ID, module: 'main', tip: 'none', prompt: [], leaseUntil: now, now });
      expect(stale).not.toBeNull();
      const takeover = await store.startProposal({ jobId: job.id, id: newProposalId(), parentId: BASELINE_ID, module: 'main', tip: 'none', prompt: [], leaseUntil: later, now: new Date(Date.now() + 1000).toISOString() });
      expect(takeover?.seq).toBe(3);
      // The one taken over is failed, naming its lost lease, with the event its runner would have written.
      const [, released] = await store.listProposals(job.id, 3);
      expect(released).toMatchObject({ id: stale!.id, status: 'failed', error: expect.stringMatching(/^lease expired at /) });
      expect((await store.latestEvent(job.id, 'mipro.proposal.failed'))?.data).toMatchObject({ proposal_id: stale!.id, seq: 2 });
      expect(await store.retireCandidate(job.id, cid, { eventType: 'mipro.candidate.retired', message: 'r' })).toBe(true);
      expect(await store.retireCandidate(job.id, cid, { eventType: 'mipro.candidate.retired', message: 'r' })).toBe(false);
      const page = await store.pageCandidates(job.id, { limit: 1, status: 'retired' });
      expect(page.items.map((c) => c.id)).toEqual([cid]);
    });

    it('starts a proposal only on the state it was decided on (basis: proposal_seq and candidate count)', async () => {
      const job = await makeJob();
      const start = (basis: { proposalSeq: number; candidateCount: number }) => store.startProposal({
        jobId: job.id, id: newProposalId(), parentId: BASELINE_ID, module: 'main', tip: 'none', prompt: [],
        leaseUntil: new Date(Date.now() + 60_000).toISOString(), now: new Date().toISOString(), basis,
      });
      // Another instance's proposal started and finished (with a child) after this one read seq 0 and 1 candidate.
      const first = await start({ proposalSeq: 0, candidateCount: 1 });
      expect(first?.seq).toBe(1);
      await store.finishProposal({ jobId: job.id, id: first!.id, status: 'succeeded', response: null, error: null, events: [],
        candidates: [{ id: newCandidateId(), parentId: BASELINE_ID, instruction: 'child', module: 'main', instructions: { main: 'child' }, tip: null, proposalId: first!.id }] });
      expect(await start({ proposalSeq: 0, candidateCount: 1 })).toBeNull();
      expect(await start({ proposalSeq: 1, candidateCount: 1 })).toBeNull(); // the child is not in that state
      expect((await store.getJob(job.id))?.proposalSeq).toBe(1); // the refused starts wrote nothing
      expect((await start({ proposalSeq: 1, candidateCount: 2 }))?.seq).toBe(2);
      // Nor once the job no longer runs (paused or ended on another instance since the decision).
      const paused = await makeJob();
      await store.transitionJob(paused.id, ['running'], 'paused', { eventType: 'mipro.job.status', message: 'p' });
      expect(await store.startProposal({ jobId: paused.id, id: newProposalId(), parentId: BASELINE_ID, module: 'main', tip: 'none', prompt: [],
        leaseUntil: new Date(Date.now() + 60_000).toISOString(), now: new Date().toISOString(), basis: { proposalSeq: 0, candidateCount: 1 } })).toBeNull();
    });

    it('counts failed and running proposals per module (module choice counts them as tries)', async () => {
      const job = await makeJob();
      expect(await store.proposalTriesByModule(job.id, 'no usable instruction')).toEqual({ failed: {}, refused: {}, running: {} });
      const lease = new Date(Date.now() + 60_000).toISOString();
      const outcomes = [['plan', 'failed', 'no usable instruction: missing {x}'], ['plan', 'failed', 'proposer timed out'], ['answer', 'failed', 'no usable instruction: empty answer'], ['answer', 'succeeded', null]] as const;
      for (const [module, status, error] of outcomes) {
        const p = await store.startProposal({ jobId: job.id, id: newProposalId(), parentId: BASELINE_ID, module, tip: 'none', prompt: [], leaseUntil: lease, now: new Date().toISOString() });
        await store.finishProposal({ jobId: job.id, id: p!.id, status, response: null, error, candidates: [], events: [] });
      }
      // Every failure, and the refused answers among them (by the start of their error).
      expect(await store.proposalTriesByModule(job.id, 'no usable instruction')).toEqual({ failed: { plan: 2, answer: 1 }, refused: { plan: 1, answer: 1 }, running: {} });
      // A proposal still running (on another instance) is a try of its module, apart from the failures.
      await store.startProposal({ jobId: job.id, id: newProposalId(), parentId: BASELINE_ID, module: 'plan', tip: 'none', prompt: [], leaseUntil: lease, now: new Date().toISOString() });
      expect(await store.proposalTriesByModule(job.id, 'no usable instruction')).toEqual({ failed: { plan: 2, answer: 1 }, refused: { plan: 1, answer: 1 }, running: { plan: 1 } });
      expect(await store.proposalTriesByModule((await makeJob()).id, 'no usable instruction')).toEqual({ failed: {}, refused: {}, running: {} });
    });

    it('summarizes the proposals for job views: how many failed, and the newest without its prompt', async () => {
      const job = await makeJob();
      expect(await store.proposalSummary(job.id)).toEqual({ failed: 0, latest: null });
      const lease = new Date(Date.now() + 60_000).toISOString();
      const start = (module: string) => store.startProposal({ jobId: job.id, id: newProposalId(), parentId: BASELINE_ID, module, tip: 'none', prompt: [{ role: 'user', content: 'long prompt' }], leaseUntil: lease, now: new Date().toISOString() });
      const first = await start('plan');
      await store.finishProposal({ jobId: job.id, id: first!.id, status: 'failed', response: 'x', error: 'openai is unreachable (ECONNREFUSED)', candidates: [], events: [] });
      const second = await start('answer');
      await store.finishProposal({ jobId: job.id, id: second!.id, status: 'failed', response: null, error: 'proposer timed out', candidates: [], events: [] });
      const third = await start('plan');
      const running = await store.proposalSummary(job.id);
      expect(running.failed).toBe(2);
      expect(running.latest).toMatchObject({ id: third!.id, seq: 3, module: 'plan', status: 'running', error: null, candidateIds: [], finishedAt: null });
      expect(running.latest).not.toHaveProperty('prompt');
      expect(running.latest).not.toHaveProperty('response');
      const child = newCandidateId();
      await store.finishProposal({ jobId: job.id, id: third!.id, status: 'succeeded', response: 'ok', error: null, events: [],
        candidates: [{ id: child, parentId: BASELINE_ID, instruction: 'child', module: 'plan', instructions: { plan: 'child' }, tip: null, proposalId: third!.id }] });
      expect(await store.proposalSummary(job.id)).toMatchObject({ failed: 2, latest: { seq: 3, status: 'succeeded', candidateIds: [child] } });
      expect(await store.proposalSummary((await makeJob()).id)).toEqual({ failed: 0, latest: null });
    });

    it('stores a running proposal\'s prompt once built (under the lease), and keeps it when the proposal ends', async () => {
      const job = await makeJob();
      const p = await store.startProposal({ jobId: job.id, id: newProposalId(), parentId: BASELINE_ID, module: 'main', tip: 'none', prompt: [], leaseUntil: new Date(Date.now() + 60_000).toISOString(), now: new Date().toISOString() });
      expect((await store.listProposals(job.id, 1))[0]?.prompt).toEqual([]);
      const prompt = [{ role: 'system', content: 'grounded' }, { role: 'user', content: 'propose' }];
      await store.setProposalPrompt(job.id, p!.id, prompt);
      expect((await store.listProposals(job.id, 1))[0]).toMatchObject({ status: 'running', prompt });
      await store.finishProposal({ jobId: job.id, id: p!.id, status: 'failed', response: null, error: 'timeout', candidates: [], events: [] });
      expect((await store.listProposals(job.id, 1))[0]).toMatchObject({ status: 'failed', error: 'timeout', prompt });
    });

    it('lets a proposal whose lease was taken over add nothing when it finishes late', async () => {
      const job = await makeJob();
      // A lease that ran out 1 s after it began: on PostgreSQL the stored lease keeps the length asked
      // for (leaseUntil - now) from the database's clock, so a lease already over is a negative length.
      const started = Date.now();
      const stale = await store.startProposal({ jobId: job.id, id: newProposalId(), parentId: BASELINE_ID, module: 'main', tip: 'none', prompt: [], leaseUntil: new Date(started - 1000).toISOString(), now: new Date(started).toISOString() });
      // Another instance: the expired lease is released ("lease expired") and a new proposal runs.
      const fresh = await store.startProposal({ jobId: job.id, id: newProposalId(), parentId: BASELINE_ID, module: 'main', tip: 'none', prompt: [], leaseUntil: new Date(Date.now() + 60_000).toISOString(), now: new Date().toISOString() });
      expect(fresh).not.toBeNull();
      const late = await store.finishProposal({ jobId: job.id, id: stale!.id, status: 'succeeded', response: '{}', error: null, events: [{ eventType: 'mipro.proposal.created', message: 'late', data: {} }],
        candidates: [{ id: newCandidateId(), parentId: BASELINE_ID, instruction: 'late child', module: 'main', instructions: { main: 'late child' }, tip: null, proposalId: stale!.id }] });
      expect(late).toEqual([]);
      expect((await store.listCandidates(job.id)).map((c) => c.id)).toEqual([BASELINE_ID]);
      const byId = new Map((await store.listProposals(job.id, 10)).map((p) => [p.id, p]));
      expect(byId.get(stale!.id)).toMatchObject({ status: 'failed', error: expect.stringMatching(/^lease expired at /) });
      expect(byId.get(fresh!.id)).toMatchObject({ status: 'running' });
      expect((await store.listEvents(job.id, 0, 100)).filter((e) => e.message === 'late')).toEqual([]);
    });

    pagingContract({ store: () => store, tenantId: () => tenantId });
  });
}
