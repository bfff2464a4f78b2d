import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MiproOnlineSession, NotFoundError, ValidationError, collect, type SessionEvent } from '../../src/sdk/index.js';
import { newProposalId } from '../../src/shared/ids.js';
import { type TestServer, startTestServer } from '../helpers/server.js';
import { simJobBody } from './helpers.js';

/** One LLM call through the proxy, as an application makes it; returns the candidate the proxy chose. */
async function callProxy(url: string, query = 'I lost my card yesterday'): Promise<{ candidateId: string; content: string }> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'any', messages: [{ role: 'system', content: 'Classify the banking query.' }, { role: 'user', content: query }] }),
  });
  expect(res.status).toBe(200);
  const body = (await res.json()) as { choices: Array<{ message: { content: string } }> };
  return { candidateId: res.headers.get('x-mipro-candidate-id') ?? '', content: body.choices[0]?.message.content ?? '' };
}

describe('MiproOnlineSession against a real server (sim provider)', () => {
  let t: TestServer;
  let opts: { backendUrl: string; apiKey: string };
  beforeAll(async () => {
    t = await startTestServer();
    opts = { backendUrl: t.url, apiKey: t.key };
  });
  afterAll(async () => t.close());

  it('creates a session, exposes its URLs, and connects to it again by id', async () => {
    const session = await MiproOnlineSession.create({ ...opts, config: simJobBody(), correlationId: 'conv-1', metadata: { team: 'sdk' } });
    expect(session.sessionId).toMatch(/^sys_[0-9a-f]{32}$/);
    expect(session.jobId).toMatch(/^pl_/);
    expect(session.proxyUrl).toBe(`${t.url}/api/mipro/v1/${session.sessionId}`);
    expect(session.chatCompletionsUrl).toBe(`${session.proxyUrl}/chat/completions`);
    expect(session.correlationId).toBe('conv-1');
    const status = await session.status();
    expect(status).toMatchObject({ job_id: session.jobId, status: 'running', rollout_count: 0 });
    expect(status.metadata).toMatchObject({ team: 'sdk' });
    const again = await MiproOnlineSession.connect(session.sessionId, opts);
    expect(again.jobId).toBe(session.jobId);
    const urls = await session.getPromptUrls('conv-2');
    expect(urls).toMatchObject({ proxy_url: session.proxyUrl, online_url: session.proxyUrl, correlation_id: 'conv-2' });
    expect(urls.chat_completions_url.startsWith(session.chatCompletionsUrl)).toBe(true);
    await expect(MiproOnlineSession.connect('sys_00000000000000000000000000000000', opts)).rejects.toThrow(NotFoundError);
  });

  it('creates from a TOML config file with dotted overrides, over the v2 routes', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'miprox-sdk-'));
    const path = join(dir, 'job.toml');
    const mipro = simJobBody().policy_optimization.mipro;
    writeFileSync(path, [
      '[prompt_learning]', 'algorithm = "mipro"',
      '[prompt_learning.policy]', 'model = "sim-policy"', 'provider = "sim"', 'temperature = 0.0',
      '[prompt_learning.mipro]', 'mode = "online"', `bootstrap_train_seeds = [${mipro.bootstrap_train_seeds.join(', ')}]`,
      `val_seeds = [${mipro.val_seeds.join(', ')}]`, `online_pool = [${mipro.online_pool.join(', ')}]`,
      'online_proposer_mode = "inline"', 'online_proposer_min_rollouts = 20', 'online_rollouts_per_candidate = 10',
      '[prompt_learning.mipro.proposer]', 'mode = "instruction_only"', 'model = "sim-proposer"', 'provider = "sim"',
    ].join('\n'));
    const session = await MiproOnlineSession.create({ ...opts, configPath: path, overrides: { 'prompt_learning.policy.temperature': 0.5 }, apiVersion: 'v2' });
    const job = await t.server.store.getJob(session.jobId);
    expect(job?.config.policy.temperature).toBe(0.5);
    expect((await session.status()).status).toBe('running');
  });

  it('refuses an invalid config with every bad field', async () => {
    const err = await MiproOnlineSession.create({ ...opts, config: simJobBody({ online_rollouts_per_candidate: 0, val_seeds: [] }) }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ValidationError);
    expect((err as ValidationError).details.map((d) => d.path)).toEqual(expect.arrayContaining([
      'config_body.policy_optimization.mipro.online_rollouts_per_candidate', 'config_body.policy_optimization.mipro.val_seeds',
    ]));
    await expect(MiproOnlineSession.create({ ...opts })).rejects.toThrow(/exactly one of config or configPath/);
  });

  it('schedules rollouts, takes rewards once per rollout id, and stops the job on stop: true', async () => {
    const session = await MiproOnlineSession.create({ ...opts, config: simJobBody() });
    const rollout = await session.nextRollout();
    expect(rollout.split).toBe('bootstrap');
    expect([0, 1, 2, 3, 4]).toContain(rollout.seed);
    expect(rollout.inference_url).toBe(session.rolloutBaseUrl(rollout.rollout_id));
    // `{proxy}/v1/...` is the /v1 prefix: a rollout "v1" would silently get a new id on every call.
    expect(() => session.rolloutBaseUrl('v1')).toThrow(/"v1" is the proxy's \/v1 prefix/);
    expect(session.rolloutBaseUrl('v12')).toBe(`${session.proxyUrl}/v12`);
    const call = await callProxy(rollout.chat_completions_url);
    const first = await session.updateReward({ rolloutId: rollout.rollout_id, rewardInfo: { score: 0.75 }, metadata: { predicted: call.content } });
    expect(first).toMatchObject({ status: 'ok', rollout_id: rollout.rollout_id, candidate_id: call.candidateId, reward: 0.75, duplicate: false });
    const dup = await session.updateReward({ rolloutId: rollout.rollout_id, rewardInfo: { score: 0.1 } });
    expect(dup).toMatchObject({ duplicate: true, reward: 0.75 });
    const status = await session.status();
    expect(status).toMatchObject({ rollout_count: 1, reward_count: 1 });
    const rewards = await collect(session.iterateRewards({ limit: 1 }));
    expect(rewards).toEqual([expect.objectContaining({ rollout_id: rollout.rollout_id, candidate_id: call.candidateId, reward: 0.75, split: 'bootstrap', seed: rollout.seed })]);
    const evals = await session.listSeedEvals({ split: 'bootstrap', seed: rollout.seed });
    expect(evals.items.map((e) => e.rollout_id)).toEqual([rollout.rollout_id]);
    expect((await session.listSeedEvals({ split: 'val' })).items).toEqual([]);
    await expect(session.updateReward({ rolloutId: 'ro_unknown', rewardInfo: { score: 1 } })).rejects.toThrow(/ro_unknown|rollout/);

    const second = await session.nextRollout({ correlationId: 'ticket-2' });
    expect(second.correlation_id).toBe('ticket-2');
    await callProxy(second.chat_completions_url);
    // The scheduled rollout is tagged, so a reward may name it by its correlation id alone.
    const last = await session.updateReward({ correlationId: 'ticket-2', rewardInfo: { score: 1 }, stop: true });
    expect(last).toMatchObject({ duplicate: false, rollout_id: second.rollout_id });
    expect((await session.status()).status).toBe('succeeded');
  });

  it('lists more proposals than the server\'s default page when asked (limit)', async () => {
    const session = await MiproOnlineSession.create({ ...opts, config: simJobBody() });
    // 55 finished proposals (failed ones: no candidates), as a long job with a flaky proposer has.
    for (let i = 0; i < 55; i++) {
      const now = new Date().toISOString();
      const lease = await t.server.store.startProposal({ jobId: session.jobId, id: newProposalId(), parentId: 'baseline', module: 'main', tip: 'none', prompt: [], leaseUntil: new Date(Date.now() + 60_000).toISOString(), now });
      await t.server.store.finishProposal({ jobId: session.jobId, id: lease!.id, status: 'failed', response: null, error: 'proposer down', events: [], candidates: [] });
    }
    expect(await session.proposals()).toHaveLength(50);
    const all = await session.proposals({ limit: 1000 });
    expect(all).toHaveLength(55);
    expect(all.map((p) => p.seq)).toEqual(Array.from({ length: 55 }, (_, i) => 55 - i));
  });

  it('pauses, resumes and cancels', async () => {
    const session = await MiproOnlineSession.create({ ...opts, config: simJobBody() });
    expect((await session.pause()).status).toBe('paused');
    expect((await session.resume()).status).toBe('running');
    expect((await session.cancel()).status).toBe('cancelled');
  });

  it('pages candidates with an iterator, reads one, and lists proposals and events', async () => {
    const session = await MiproOnlineSession.create({ ...opts, config: simJobBody({ online_proposer_min_rollouts: 3, online_rollouts_per_candidate: 2 }) });
    for (let i = 0; i < 10; i++) {
      const r = await session.nextRollout();
      await callProxy(r.chat_completions_url);
      await session.updateReward({ rolloutId: r.rollout_id, rewardInfo: { score: i % 2 } });
    }
    const status = await session.status();
    const expected = (status.candidates ?? []).map((c) => c.candidate_id).sort();
    expect(expected.length).toBeGreaterThanOrEqual(3);
    const firstPage = await session.listCandidates({ limit: 2 });
    expect(firstPage.items).toHaveLength(2);
    expect(firstPage.next_cursor).not.toBeNull();
    const all = await collect(session.iterateCandidates({ limit: 2 }));
    expect(all.map((c) => c.candidate_id).sort()).toEqual(expected);
    const active = await collect(session.iterateCandidates({ status: 'active', sort: 'rollout_count:desc' }));
    expect(active.every((c) => c.status === 'active')).toBe(true);
    const counts = active.map((c) => c.rollout_count);
    expect(counts).toEqual([...counts].sort((a, b) => b - a));

    const proposed = all.find((c) => c.candidate_id !== 'baseline')!;
    const one = await session.getCandidate(proposed.candidate_id);
    expect(one).toMatchObject({ candidate_id: proposed.candidate_id, system_id: session.sessionId, parent_id: expect.any(String) });
    expect((await session.getCandidate('baseline')).system_id).toBe(session.sessionId);
    await expect(session.getCandidate('cand_nope')).rejects.toThrow(NotFoundError);

    const proposals = await session.proposals();
    expect(proposals.length).toBeGreaterThanOrEqual(1);
    expect(proposals.flatMap((p) => p.candidate_ids)).toContain(proposed.candidate_id);

    const events = await session.events({ sinceSeq: 0, limit: 1000 });
    const types = events.map((e) => e.event_type);
    expect(types.filter((x) => x === 'mipro.reward.received')).toHaveLength(10);
    expect(types).toContain('mipro.proposal.created');
    const seqs = events.map((e) => e.seq);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    const tail = await session.events({ sinceSeq: seqs[4]!, limit: 3 });
    expect(tail.map((e) => e.seq)).toEqual(seqs.slice(5, 8));
    // One type only: a job's reward events bury its few proposal events (limit and since_seq apply to those).
    const created = await session.events({ eventType: 'mipro.proposal.created' });
    expect(created.map((e) => e.seq)).toEqual(events.filter((e) => e.event_type === 'mipro.proposal.created').map((e) => e.seq));
    expect((await session.events({ eventType: 'mipro.reward.received', sinceSeq: seqs[0]!, limit: 2 })).map((e) => e.event_type)).toEqual(['mipro.reward.received', 'mipro.reward.received']);
    expect(await session.events({ eventType: 'mipro.guard.tripped' })).toEqual([]);
    // A misspelt type is refused with the nearest, not answered with an empty list that reads as "none happened".
    const typo = await session.events({ eventType: 'mipro.proposal.faild' }).catch((e: unknown) => e);
    expect(typo).toBeInstanceOf(ValidationError);
    expect((typo as ValidationError).details).toEqual([{ path: 'event_type', message: expect.stringMatching(/^unknown event type; did you mean mipro\.proposal\.failed\? \(one of: mipro\.job\.status, /) }]);
  });

  it('watchEvents yields each new event once, in order, and ends when the job is final', async () => {
    const session = await MiproOnlineSession.create({ ...opts, config: simJobBody() });
    const seen: SessionEvent[] = [];
    const watching = (async () => {
      for await (const e of session.watchEvents({ pollMs: 30, limit: 2 })) seen.push(e);
    })();
    for (let i = 0; i < 3; i++) {
      const r = await session.nextRollout();
      await callProxy(r.chat_completions_url);
      await session.updateReward({ rolloutId: r.rollout_id, rewardInfo: { score: 1 } });
      await new Promise((resolve) => setTimeout(resolve, 60));
    }
    await session.cancel();
    await watching;
    const all = await session.events({ limit: 1000 });
    expect(seen.map((e) => e.seq)).toEqual(all.map((e) => e.seq));
    expect(seen.filter((e) => e.event_type === 'mipro.reward.received')).toHaveLength(3);
    expect(seen.at(-1)?.event_type).toBe('mipro.job.status');

    const abort = new AbortController();
    const open = await MiproOnlineSession.create({ ...opts, config: simJobBody() });
    setTimeout(() => abort.abort(), 150);
    const quiet = await collect(open.watchEvents({ pollMs: 20, signal: abort.signal }));
    expect(quiet.map((e) => e.event_type)).toEqual(['mipro.job.status']);
  });
});
