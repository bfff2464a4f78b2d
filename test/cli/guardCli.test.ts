import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/childServer.js';
import { createGuardJob, driveGuardJobToEnd, type GuardJob, monitorGuardJob } from '../helpers/guardWorld.js';
import { type TestServer, api, startTestServer } from '../helpers/server.js';

// Every case spawns the CLI (through tsx when not built), which takes seconds on a busy 2-core machine.
const SLOW = 120_000;

/**
 * `miprox jobs show` says what a job serves and the guard's state (mipro.guard), from its first
 * rollout to a trip: a served candidate whose production rewards collapse shows as TRIPPED, with
 * when, the evidence and what the job serves since (revert: the baseline).
 */
describe('miprox jobs show: serving and the guard (child process)', () => {
  let t: TestServer;
  let env: Record<string, string>;
  let job: GuardJob;
  const guardLine = (stdout: string) => stdout.split('\n').find((l) => /^guard\s/.test(l)) ?? '';
  beforeAll(async () => {
    t = await startTestServer({ start: { cacheTtlMs: 20 } });
    env = { MIPROX_BASE_URL: t.url, MIPROX_API_KEY: t.key };
    job = await createGuardJob(t, { guard: 'revert', provider: 'sim' });
  });
  afterAll(async () => t.close());

  it('while the job runs: nothing single is served and the guard is not serving yet', async () => {
    const res = await runCli(['jobs', 'show', job.job_id], env);
    expect(res.stderr).toBe('');
    expect(res.code).toBe(0);
    expect(res.stdout).toMatch(/^serving\s+- \(optimizing\)$/m);
    expect(guardLine(res.stdout)).toMatch(/^guard\s+not serving yet \(revert\): watches what the job serves once it ends$/);
  }, SLOW);

  it('after the end: serving the winner, the guard watching it against its confirmed score', async () => {
    await driveGuardJobToEnd(t, job);
    await monitorGuardJob(t, job, 'ok', 2, 1);
    const res = await runCli(['jobs', 'show', job.job_id], env);
    expect(res.code).toBe(0);
    expect(res.stdout).toMatch(/^status\s+succeeded/m);
    expect(res.stdout).toMatch(/^serving\s+cand_win$/m);
    expect(guardLine(res.stdout)).toMatch(
      /^guard\s+watching \(revert\) cand_win: monitored n=2 mean 1\.000 \[\d\.\d{3}, 1\.000\] vs confirmed 1\.000 \[\d\.\d{3}, 1\.000\] online$/,
    );
  }, SLOW);

  it('a guard that trips shows as TRIPPED, with when, the evidence, and the baseline now served', async () => {
    const served = await monitorGuardJob(t, job, 'bad', 40, 0);
    expect(served.at(-1)).toBe('baseline');
    const view = (await api(t.url, 'GET', `/api/policy-optimization/online/jobs/${job.job_id}`, { key: t.key })).body;
    expect(view.guard).toMatchObject({ state: 'tripped', candidate_id: 'cand_win', served_candidate_id: 'baseline' });
    const res = await runCli(['jobs', 'show', job.job_id], env);
    expect(res.code).toBe(0);
    expect(res.stdout).toMatch(/^serving\s+baseline$/m);
    const line = guardLine(res.stdout);
    expect(line).toContain(`TRIPPED at ${view.guard.tripped_at} (revert) for cand_win: monitored n=${view.guard.monitored.n} mean `);
    expect(line).toMatch(/ below confirmed 1\.000 \[\d\.\d{3}, 1\.000\] online; now serving baseline$/);
    const json = JSON.parse((await runCli(['jobs', 'show', job.job_id, '--json'], env)).stdout);
    expect(json.guard).toEqual(view.guard);
  }, SLOW);
});
