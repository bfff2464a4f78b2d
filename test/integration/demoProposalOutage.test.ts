import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DATABASE_LOST_ERROR } from '../../src/optimizer/runner/proposalRunner.js';
import type { Store } from '../../src/store/types.js';
import { type FakeUpstream, lastUserMessageOf, startFakeUpstream } from '../fakes/fakeUpstream.js';
import { type TestServer, api, seedJobBody, startTestServer } from '../helpers/server.js';
import { type HeldLock, holdWriteLock } from '../helpers/sqliteLock.js';
import { waitFor } from '../helpers/waitFor.js';

const JOBS = '/api/policy-optimization/online/jobs';
const PROMPT = 'Label the ticket as billing, bug or other.';

/**
 * A demo-set proposal whose finish meets a database outage (here SQLite's write lock, held by another
 * process past the 5 s writes wait for it) must end the way an instruction proposal does
 * (pgProposalOutage.test.ts): `failed`, naming the outage, once the database answers again. It was
 * left `running` until its lease ran out (2 x PROPOSER_TIMEOUT_MS), holding up the job's proposals.
 * Its failed end is retried until the database answers, and each try logged "proposal failed" again
 * (an operator saw three such lines for one failure): one failure is one line.
 */
describe('a demo-set proposal whose finish meets a database outage', () => {
  const path = join(mkdtempSync(join(tmpdir(), 'miprox-demo-outage-')), 'miprox.db');
  let policy: FakeUpstream;
  let t: TestServer;
  let lock: HeldLock | null = null;
  let outages = 1;
  const lines: { msg: string; jobId?: string; error?: string }[] = [];
  const sink = new Writable({ write(chunk: Buffer, _enc, done) { for (const l of chunk.toString().split('\n')) if (l) lines.push(JSON.parse(l)); done(); } });
  beforeAll(async () => {
    policy = await startFakeUpstream({ reply: (req) => `A(${lastUserMessageOf(req)})` });
    // A lease of 2 minutes: only the runner itself can close the proposal within this test.
    t = await startTestServer({ env: { DATABASE_URL: path, OPENAI_API_KEY: 'sk-test', OPENAI_BASE_URL: policy.url, MIPROX_ALLOWED_INFERENCE_HOSTS: `127.0.0.1:${policy.port}`, PROPOSER_TIMEOUT_MS: '60000' }, start: { cacheTtlMs: 20, logger: pino({ level: 'info' }, sink) } });
    // The first proposal's finish runs while another process holds the write lock (released 7 s later).
    const store: Store = t.server.store;
    const finish = store.finishProposal.bind(store);
    store.finishProposal = async (p) => {
      if (outages-- > 0) {
        lock = await holdWriteLock(path);
        const held = lock;
        setTimeout(() => void held.release().then(() => (lock = null)), 7_000);
      }
      return finish(p);
    };
  });
  afterAll(async () => {
    await lock?.release();
    await t.close();
    await policy.close();
  });

  it('ends failed, naming the outage, once the database is back, and the job proposes again', async () => {
    const body = seedJobBody({
      proposerProvider: 'openai_compatible', proposerModel: 'fake-proposer', inferenceUrl: policy.url, initialPrompt: PROMPT,
      mipro: {
        online_proposer_min_rollouts: 4, online_rollouts_per_candidate: 2, online_proposer_max_candidates: 4, max_demos: 2, demo_min_reward: 1,
        proposer: { mode: 'demos_only', model: 'fake-proposer', provider: 'openai_compatible', inference_url: policy.url, instructions_per_batch: 1 },
      },
    });
    const created = await api(t.url, 'POST', JOBS, { key: t.key, body });
    expect(created.status, JSON.stringify(created.body)).toBe(200);
    const job = created.body as { job_id: string; system_id: string; proxy_url: string };
    const proposals = async () => (await api(t.url, 'GET', `/api/v1/online/sessions/${job.system_id}/proposals`, { key: t.key })).body.items as Array<{ status: string; error: string | null; tip: string }>;
    let n = 0;
    const rollouts = async (count: number) => {
      for (let i = 0; i < count; i++, n++) {
        const rid = `r${n}`;
        const res = await api(`${job.proxy_url}/${rid}`, 'POST', '/chat/completions', { body: { model: 'x', messages: [{ role: 'system', content: PROMPT }, { role: 'user', content: `GOOD-${n}` }] } });
        expect(res.status).toBe(200);
        await waitFor(async () => (await t.server.store.rolloutCalls(job.job_id, [rid])).length === 1);
        expect((await api(t.url, 'POST', `/api/v1/online/sessions/${job.system_id}/reward`, { key: t.key, body: { rollout_id: rid, reward_info: { score: 1 } } })).status).toBe(200);
      }
    };

    await rollouts(5);
    await waitFor(async () => outages < 0, 10_000); // the proposal's finish has met the lock
    await waitFor(async () => lock === null, 15_000); // and the lock is gone
    await waitFor(async () => (await proposals())[0]?.status === 'failed', 10_000);
    expect(await proposals()).toMatchObject([{ status: 'failed', error: DATABASE_LOST_ERROR, tip: 'demos' }]);
    await t.server.settled();
    expect(lines.filter((l) => l.jobId === job.job_id && l.msg === 'proposal failed')).toMatchObject([{ error: DATABASE_LOST_ERROR }]);

    // The job goes on: the next demo-set proposal (after the next batch of rewards) succeeds.
    await rollouts(5);
    await waitFor(async () => (await proposals()).some((p) => p.status === 'succeeded'), 30_000);
  }, 90_000);
});
