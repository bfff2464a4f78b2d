import { existsSync } from 'node:fs';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGuardJob, driveGuardJobToEnd, type GuardJob, monitorGuardJob } from '../helpers/guardWorld.js';
import { api } from '../helpers/server.js';
import { CHROMIUM, openWatchedPage, screenshotPath, signIn } from './browser.js';
import { startDashboardTestServer, type DashboardTestServer } from './dashboardServer.js';
import { closeBrowserAndServer } from './dashboardSession.js';

const JOBS = '/api/policy-optimization/online/jobs';

/**
 * The guard (mipro.guard) in Chromium, beside the served badge and in the job header: not serving
 * while the job runs, watching the winner it serves once it ended, and tripped when that winner's
 * production rewards collapse (revert: the served badge moves to the baseline) - on the open page,
 * without a reload, because the page keeps reading a finished job while its guard watches (and
 * again after a promote).
 */
describe.skipIf(!existsSync(CHROMIUM))('dashboard: the guard beside the served badge', () => {
  let s: DashboardTestServer;
  let browser: Browser;
  let page: Page;
  let job: GuardJob;
  let problems: string[] = [];
  const requests: string[] = [];
  const apiCalls = () => requests.filter((u) => u.includes('/api/')).length;
  const getJob = async () => (await api(s.url, 'GET', `${JOBS}/${job.job_id}`, { key: s.t.key })).body;
  const guardCell = () => page.locator('.job-header [data-stat="guard"]');
  const row = (id: string) => page.locator(`table.leaderboard tbody tr[data-candidate="${id}"]`);

  beforeAll(async () => {
    s = await startDashboardTestServer({ cacheTtlMs: 20 });
    job = await createGuardJob(s.t, { guard: 'revert', provider: 'sim' });
    ({ browser, page, problems } = await openWatchedPage());
    page.on('request', (r) => requests.push(r.url()));
    await signIn(page, s.url, s.t.key);
    await page.goto(`${s.url}/#/jobs/${job.job_id}`);
    await page.waitForSelector('.job-header [data-status="running"]');
  });

  afterAll(() => closeBrowserAndServer(browser, s));

  it('while the job runs the guard is not serving yet, and no row carries a guard tag', async () => {
    expect((await getJob()).guard.state).toBe('not_serving');
    await expect.poll(() => guardCell().textContent()).toBe('revert: starts when the job ends');
    expect(await guardCell().getAttribute('data-guard-state')).toBe('not_serving');
    expect(await page.locator('.tag-guard').count()).toBe(0);
  });

  it('once the job ended serving the winner: "guard: watching" beside its served badge', async () => {
    await driveGuardJobToEnd(s.t, job);
    const ended = await getJob();
    expect(ended).toMatchObject({ status: 'succeeded', served_candidate_id: 'cand_win', guard: { state: 'watching', candidate_id: 'cand_win' } });
    const win = row('cand_win');
    await expect.poll(() => win.locator('.tag-guard').textContent(), { timeout: 10_000 }).toBe('guard: watching');
    expect(await win.locator('.tag-served').textContent()).toBe('served');
    // The guard's tag sits right after the served badge.
    expect(await win.locator('.tag-served + .tag-guard').count()).toBe(1);
    expect(await guardCell().textContent()).toMatch(/^watching \(revert\) · cand_win: no production rewards yet vs confirmed 1\.000 \[\d\.\d{3}, 1\.000\]$/);
    await expect.poll(() => page.locator('.job-header .live').textContent()).toMatch(/^Final · guard watching · /);
    // The job is final, but the page keeps reading it while its guard watches.
    const before = apiCalls();
    await page.waitForTimeout(2500);
    expect(apiCalls()).toBeGreaterThan(before);
  });

  it('a guard that trips shows as tripped on the open page; the served badge moves to the baseline', async () => {
    const served = await monitorGuardJob(s.t, job, 'bad', 40, 0);
    expect(served.at(-1)).toBe('baseline');
    const after = await getJob();
    expect(after.guard).toMatchObject({ state: 'tripped', candidate_id: 'cand_win', served_candidate_id: 'baseline' });
    const win = row('cand_win');
    await expect.poll(() => win.locator('.tag-guard').textContent(), { timeout: 10_000 }).toBe('guard: tripped');
    expect(await win.locator('.tag-served').count()).toBe(0);
    expect(await row('baseline').locator('.tag-served').textContent()).toBe('served');
    expect(await row('baseline').locator('.tag-guard').count()).toBe(0);
    expect(await guardCell().getAttribute('data-guard-state')).toBe('tripped');
    const text = (await guardCell().textContent()) ?? '';
    expect(text).toMatch(new RegExp(`^tripped .+ \\(revert\\) · cand_win: 0\\.000 \\[\\d\\.\\d{3}, \\d\\.\\d{3}\\] n=${after.guard.monitored.n} < confirmed 1\\.000 \\[\\d\\.\\d{3}, 1\\.000\\] · serving baseline$`));
    // A tripped guard has nothing more to watch: the page stops reading.
    await expect.poll(() => page.locator('.job-header .live').textContent()).toBe('Final: not updating');
    const settled = apiCalls();
    await page.waitForTimeout(2500);
    expect(apiCalls()).toBe(settled);
    await page.screenshot({ path: screenshotPath('23-guard-tripped'), fullPage: true });
  });

  it('promoting the candidate again watches it afresh, and the page follows it again', async () => {
    const win = row('cand_win');
    await win.getByRole('button', { name: 'Promote cand_win' }).click();
    await page.getByRole('dialog', { name: 'Promote cand_win?' }).getByRole('button', { name: 'Promote' }).click();
    await expect.poll(() => win.locator('.tag-guard').textContent(), { timeout: 10_000 }).toBe('guard: watching');
    expect(await win.locator('.tag-served').textContent()).toBe('served');
    expect((await getJob()).guard).toMatchObject({ state: 'watching', candidate_id: 'cand_win', tripped_at: null });
    await expect.poll(() => page.locator('.job-header .live').textContent()).toMatch(/^Final · guard watching · /);
    const before = apiCalls();
    await page.waitForTimeout(2500);
    expect(apiCalls()).toBeGreaterThan(before);
    // Its monitored rewards had collapsed already: the next one trips the guard again, on the open page.
    expect(await monitorGuardJob(s.t, job, 'again', 1, 0)).toEqual(['cand_win']);
    await expect.poll(() => win.locator('.tag-guard').textContent(), { timeout: 10_000 }).toBe('guard: tripped');
    const again = await getJob();
    const events = (await api(s.url, 'GET', `/api/v1/online/sessions/${job.system_id}/events?limit=1000`, { key: s.t.key })).body.events
      .filter((e: { event_type: string }) => e.event_type === 'mipro.guard.tripped');
    expect(events).toHaveLength(2);
    expect(again.guard).toMatchObject({ state: 'tripped', served_candidate_id: 'baseline', tripped_at: events[1].created_at });
    expect(problems).toEqual([]);
  });
});
