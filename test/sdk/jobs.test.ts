import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConflictError, JobWaitTimeoutError, MiproJobsClient, NotFoundError, TimeoutError, collect } from '../../src/sdk/index.js';
import { type TestServer, startTestServer } from '../helpers/server.js';
import { simJobBody } from './helpers.js';

describe('MiproJobsClient', () => {
  let t: TestServer;
  let jobs: MiproJobsClient;
  beforeAll(async () => {
    t = await startTestServer();
    jobs = new MiproJobsClient({ backendUrl: t.url, apiKey: t.key });
  });
  afterAll(async () => t.close());

  it('creates a job and reads it back with its proxy URL', async () => {
    const created = await jobs.create(simJobBody());
    expect(created.job_id).toMatch(/^pl_/);
    expect(created.status).toBe('running');
    expect(created.proxy_url).toBe(`${t.url}/api/mipro/v1/${created.system_id}`);
    const got = await jobs.get(created.job_id);
    expect(got).toMatchObject({ job_id: created.job_id, rollout_count: 0, reward_count: 0, best_score: null });
    expect(got.metadata).toMatchObject({ mipro_system_id: created.system_id });
  });

  it('lists one page, iterates all pages, and filters by status', async () => {
    const { key } = await t.newTenantKey();
    const mine = new MiproJobsClient({ backendUrl: t.url, apiKey: key });
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push((await mine.create(simJobBody())).job_id);
    const first = await mine.list({ limit: 2 });
    expect(first.items).toHaveLength(2);
    expect(first.next_cursor).not.toBeNull();
    const all = await collect(mine.iterate({ limit: 2 }));
    expect(all.map((j) => j.job_id).sort()).toEqual([...ids].sort());
    await mine.pause(ids[3]!);
    expect((await mine.list({ status: 'paused' })).items.map((j) => j.job_id)).toEqual([ids[3]]);
  });

  it('pauses, resumes, patches and cancels; an illegal move is a ConflictError', async () => {
    const { job_id: id } = await jobs.create(simJobBody());
    expect((await jobs.pause(id)).status).toBe('paused');
    expect((await jobs.resume(id)).status).toBe('running');
    expect((await jobs.setState(id, 'paused')).status).toBe('paused');
    expect((await jobs.cancel(id)).status).toBe('cancelled');
    await expect(jobs.resume(id)).rejects.toThrow(ConflictError);
  });

  it('deletes an ended job: a running one is a ConflictError, a deleted one a NotFoundError after', async () => {
    const { job_id: id } = await jobs.create(simJobBody());
    await expect(jobs.delete(id)).rejects.toThrow(ConflictError);
    await jobs.cancel(id);
    expect(await jobs.delete(id)).toEqual({ id, deleted: true });
    await expect(jobs.get(id)).rejects.toThrow(NotFoundError);
    await expect(jobs.delete(id)).rejects.toThrow(NotFoundError);
  });

  it('waitForCompletion polls until the job is final and reports each look', async () => {
    const { job_id: id } = await jobs.create(simJobBody());
    const seen: string[] = [];
    // Cancel once two looks have been reported, so the test does not depend on timing.
    const final = await jobs.waitForCompletion(id, {
      pollMs: 50, timeoutMs: 30_000,
      onUpdate: (j) => {
        seen.push(j.status);
        if (seen.length === 2) void jobs.cancel(id);
      },
    });
    expect(final.status).toBe('cancelled');
    expect(seen[0]).toBe('running');
    expect(seen.at(-1)).toBe('cancelled');
    expect(seen.length).toBeGreaterThanOrEqual(3);
  });

  it('waitForCompletion throws a typed timeout error naming the job and its last status', async () => {
    const { job_id: id } = await jobs.create(simJobBody());
    const started = Date.now();
    const err = await jobs.waitForCompletion(id, { pollMs: 50, timeoutMs: 300 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(JobWaitTimeoutError);
    expect(err).toBeInstanceOf(TimeoutError);
    expect(err).toMatchObject({ jobId: id, lastStatus: 'running' });
    expect(Date.now() - started).toBeGreaterThanOrEqual(300);
    expect(Date.now() - started).toBeLessThan(3_000);
  });
});
