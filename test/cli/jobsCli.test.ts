import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MiproJobsClient } from '../../src/sdk/index.js';
import { runCli } from '../helpers/childServer.js';
import { type TestServer, startTestServer } from '../helpers/server.js';
import { closedPortUrl, simJobBody } from '../sdk/helpers.js';
import { spawnCli } from './spawnCli.js';

// Every case spawns the CLI (through tsx when not built), which takes seconds on a busy 2-core machine.
const SLOW = 120_000;

function jobWithBaseline() {
  const body = simJobBody();
  Object.assign(body.policy_optimization, {
    initial_prompt: { messages: [{ role: 'system', pattern: 'Classify the banking query into an intent.', order: 0 }, { role: 'user', pattern: '{query}', order: 1 }] },
  });
  return body;
}

describe('miprox jobs / candidates (child process, through the SDK)', () => {
  let t: TestServer;
  let env: Record<string, string>;
  let jobs: MiproJobsClient;
  let jobId: string;
  beforeAll(async () => {
    t = await startTestServer();
    const tenant = await t.newTenantKey();
    env = { MIPROX_BASE_URL: t.url, MIPROX_API_KEY: tenant.key };
    jobs = new MiproJobsClient({ backendUrl: t.url, apiKey: tenant.key });
    jobId = (await jobs.create(jobWithBaseline())).job_id;
  });
  afterAll(async () => t.close());

  it('jobs list prints a table for people and JSON for scripts', async () => {
    const human = await runCli(['jobs', 'list'], env);
    expect(human.stderr).toBe('');
    expect(human.code).toBe(0);
    const [header, row] = human.stdout.trim().split('\n');
    expect(header).toMatch(/^JOB_ID\s+NAME\s+STATUS\s+ROLLOUTS\s+REWARDS\s+BEST/);
    expect(row).toMatch(new RegExp(`^${jobId}\\s+-\\s+running\\s+0\\s+0\\s+-`));
    const json = await runCli(['jobs', 'list', '--json'], env);
    expect(json.code).toBe(0);
    const items = JSON.parse(json.stdout) as Array<{ job_id: string; status: string }>;
    expect(items.map((j) => j.job_id)).toEqual([jobId]);
  }, SLOW);

  it('jobs show prints the job and its candidates; --url and --api-key override the environment', async () => {
    const res = await runCli(['jobs', 'show', jobId, '--url', `${t.url}/api`, '--api-key', env.MIPROX_API_KEY!], { MIPROX_BASE_URL: 'http://127.0.0.1:1', MIPROX_API_KEY: 'mpx_wrong' });
    expect(res.stderr).toBe('');
    expect(res.code).toBe(0);
    expect(res.stdout).toMatch(new RegExp(`^job\\s+${jobId}$`, 'm'));
    expect(res.stdout).toMatch(/^status\s+running/m);
    expect(res.stdout).toMatch(/^proxy url\s+http:\/\/127\.0\.0\.1:\d+\/api\/mipro\/v1\/sys_/m);
    expect(res.stdout).toMatch(/^baseline\s+active\s.*Classify the banking query into an intent\.$/m);
    const json = await runCli(['jobs', 'show', jobId, '--json'], env);
    expect(JSON.parse(json.stdout)).toMatchObject({ job_id: jobId, status: 'running' });
  }, SLOW);

  it('candidates <jobId> lists the candidates', async () => {
    const res = await runCli(['candidates', jobId], env);
    expect(res.code).toBe(0);
    expect(res.stdout).toMatch(/^CANDIDATE_ID\s+STATUS/);
    expect(res.stdout).toMatch(/^baseline\s+active\s+-\s+0\s+0/m);
    const json = await runCli(['candidates', jobId, '--json'], env);
    expect(JSON.parse(json.stdout)).toEqual([expect.objectContaining({ candidate_id: 'baseline', status: 'active' })]);
  }, SLOW);

  it('jobs delete needs --yes, refuses a running job, and deletes an ended one', async () => {
    const { job_id: id } = await jobs.create(simJobBody());
    // A running (or paused) job without --yes: "add --yes" would only lead to the 409 below, so the
    // CLI says what the delete needs first (earlier releases told the user to add --yes).
    const unconfirmed = await runCli(['jobs', 'delete', id], env);
    expect(unconfirmed.code).toBe(1);
    expect(unconfirmed.stderr).toMatch(new RegExp(`not deleted: job ${id} is running; cancel it first \\(miprox jobs cancel ${id}\\)`));
    expect(unconfirmed.stderr).not.toMatch(/--yes/);
    expect((await jobs.get(id)).status).toBe('running');
    const running = await runCli(['jobs', 'delete', id, '--yes'], env);
    expect(running.code).toBe(1);
    expect(running.stderr).toMatch(/it is running; cancel it first.*\(409 conflict\)/);
    await jobs.pause(id);
    const paused = await runCli(['jobs', 'delete', id, '--json'], env);
    expect(paused.code).toBe(1);
    expect(JSON.parse(paused.stderr)).toEqual({ error: { code: 'conflict', message: expect.stringMatching(/^not deleted: job \S+ is paused; cancel it first/) } });
    expect((await jobs.get(id)).status).toBe('paused');
    await jobs.cancel(id);
    // Ended: without --yes it is the confirmation that is missing.
    const ended = await runCli(['jobs', 'delete', id], env);
    expect(ended.code).toBe(1);
    expect(ended.stderr).toMatch(/not deleted: .*add --yes/);
    expect((await jobs.get(id)).status).toBe('cancelled');
    expect((await runCli(['jobs', 'delete', id, '--yes'], env)).stdout.trim()).toBe(`job ${id}: deleted`);
    const again = await runCli(['jobs', 'delete', id, '--yes', '--json'], env);
    expect(again.code).toBe(1);
    expect(JSON.parse(again.stderr)).toMatchObject({ error: { status: 404 } });
    const other = (await jobs.create(simJobBody())).job_id;
    await jobs.cancel(other);
    expect(JSON.parse((await runCli(['jobs', 'delete', other, '--yes', '--json'], env)).stdout)).toEqual({ id: other, deleted: true });
  }, SLOW);

  it('pause, resume and cancel steer the job; watch ends at once on a final job', async () => {
    const { job_id: id } = await jobs.create(simJobBody());
    const paused = await runCli(['jobs', 'pause', id], env);
    expect(paused.stdout.trim()).toBe(`job ${id}: paused`);
    expect((await jobs.get(id)).status).toBe('paused');
    const resumed = await runCli(['jobs', 'resume', id, '--json'], env);
    expect(JSON.parse(resumed.stdout)).toMatchObject({ job_id: id, status: 'running' });
    // A cancelled job serves the baseline: the line says so (the help, too, before anyone cancels).
    expect((await runCli(['jobs', 'cancel', id], env)).stdout.trim()).toBe(`job ${id}: cancelled, serving baseline`);
    expect((await runCli(['jobs', 'cancel', '--help'], env)).stdout.replace(/\s+/g, ' ')).toContain('serves the baseline, not what the job learned (to end it serving its best candidate: jobs promote <jobId> best)');
    const again = await runCli(['jobs', 'resume', id], env);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/\(409 conflict\)/);
    const watch = await runCli(['jobs', 'watch', id, '--interval', '50'], env);
    expect(watch.code).toBe(0);
    expect(watch.stdout).toContain('cancelled | rollouts 0 | rewards 0 | best -');
    expect(watch.stdout.trim().split('\n').at(-1)).toBe(`job ${id} cancelled: best - after 0 rollouts, 0 rewards, 0 proposals`);
  }, SLOW);

  /**
   * Ending a job keeping what it learned took a reward with `stop: true` (from the app) or a promote
   * naming the champion's id, read first from `jobs show`; `jobs cancel`, the command that looked like
   * "stop", serves the baseline. `promote ID best` promotes the job's best candidate.
   */
  it('promote ID best ends the job serving its best candidate', async () => {
    const { job_id: id, system_id: sid } = await jobs.create(jobWithBaseline());
    const session = await jobs.session(id);
    const warm = await session.addCandidate({ instruction: 'Name the intent label only.' });
    for (let i = 0; i < 12; i++) {
      await session.updateReward({ rolloutId: `w${i}`, candidateId: warm.candidate_id, rewardInfo: { score: 1 } });
      await session.updateReward({ rolloutId: `b${i}`, candidateId: 'baseline', rewardInfo: { score: 0 } });
    }
    expect((await jobs.get(id)).best_candidate_id).toBe(warm.candidate_id);
    const res = await runCli(['jobs', 'promote', sid, 'best'], env);
    expect([res.code, res.stderr]).toEqual([0, '']);
    expect(res.stdout).toBe(`job ${id}: succeeded, serving ${warm.candidate_id}\n`);
    expect(await jobs.get(id)).toMatchObject({ status: 'succeeded', served_candidate_id: warm.candidate_id });
  }, SLOW);

  /**
   * `max_rollouts` budgets rewarded rollouts: the job ends at that many rewards, however many rollouts
   * went unrewarded. `jobs show` printed the budget beside the rollouts ("4 of 3" on a job that ended
   * where it should), so the reader saw a job past its budget and no budget beside the rewards.
   */
  it('jobs show and jobs list put the max_rollouts budget beside the rewards it counts', async () => {
    const tenant = await t.newTenantKey();
    const own = { MIPROX_BASE_URL: t.url, MIPROX_API_KEY: tenant.key };
    const client = new MiproJobsClient({ backendUrl: t.url, apiKey: tenant.key });
    const { job_id: id } = await client.create(simJobBody({ max_rollouts: 3 }));
    const session = await client.session(id);
    const rollouts = [];
    for (let i = 0; i < 4; i++) rollouts.push(await session.nextRollout());
    for (const r of rollouts.slice(0, 3)) await session.updateReward({ rolloutId: r.rollout_id, rewardInfo: { score: 1 } });
    expect(await client.get(id)).toMatchObject({ status: 'succeeded', rollout_count: 4, reward_count: 3, max_rollouts: 3 });
    const show = await runCli(['jobs', 'show', id], own);
    expect([show.code, show.stderr]).toEqual([0, '']);
    expect(show.stdout).toMatch(/^rollouts\s+4$/m);
    expect(show.stdout).toMatch(/^rewards\s+3 of 3$/m);
    const list = await runCli(['jobs', 'list'], own);
    expect(list.stdout.trim().split('\n')[1]).toMatch(new RegExp(`^${id}\\s+-\\s+succeeded\\s+4\\s+3/3\\s`));
  }, SLOW);

  it('watch follows a running job until it becomes final', async () => {
    const { job_id: id } = await jobs.create(simJobBody());
    const watching = spawnCli(['jobs', 'watch', id, '--interval', '100'], env);
    await watching.waitForOutput(/^running \| rollouts 0/m);
    await jobs.cancel(id);
    const res = await watching.exit;
    expect(res.code).toBe(0);
    const lines = res.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^running \| rollouts 0/);
    expect(lines).toContain('cancelled | rollouts 0 | rewards 0 | best - | candidates 1 | proposals 0'); // the baseline exists from the start
    expect(lines.at(-1)).toMatch(new RegExp(`^job ${id} cancelled`));
  }, SLOW);

  it('Ctrl-C ends a watch quietly and leaves the job running', async () => {
    const { job_id: id } = await jobs.create(simJobBody());
    const watching = spawnCli(['jobs', 'watch', id, '--interval', '100'], env);
    await watching.waitForOutput(/^running/m);
    watching.kill('SIGINT');
    const res = await watching.exit;
    expect(res.code).toBe(0);
    expect(res.stderr).toBe('');
    expect(res.stdout.trim().split('\n').at(-1)).toBe(`stopped watching; job ${id} goes on`);
    expect((await jobs.get(id)).status).toBe('running');
  }, SLOW);

  it('says plainly when the server is unreachable or the key is refused (exit code 1, no stack trace)', async () => {
    const url = await closedPortUrl();
    const down = await runCli(['jobs', 'list', '--url', url], env);
    expect(down.code).toBe(1);
    expect(down.stderr.trim()).toBe(`miprox: cannot reach miprox at ${url}: ECONNREFUSED. Is the server running? Set --url or MIPROX_BASE_URL.`);
    expect(down.stdout).toBe('');
    const refused = await runCli(['jobs', 'list'], { ...env, MIPROX_API_KEY: 'mpx_wrong' });
    expect(refused.code).toBe(1);
    expect(refused.stderr.trim()).toMatch(/^miprox: the API key was refused \(401\): invalid or revoked API key\. Check --api-key or MIPROX_API_KEY\.$/);
    const missing = await runCli(['jobs', 'show', jobId], { ...env, MIPROX_API_KEY: '' });
    expect(missing.code).toBe(1);
    expect(missing.stderr.trim()).toBe('miprox: no API key given (401): pass --api-key or set MIPROX_API_KEY.');
    const unknown = await runCli(['jobs', 'show', 'pl_00000000000000000000000000000000'], env);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr.trim()).toBe('miprox: not found (404): job pl_00000000000000000000000000000000 not found');
  }, SLOW);
});
