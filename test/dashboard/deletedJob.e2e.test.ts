import { existsSync } from 'node:fs';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api } from '../helpers/server.js';
import { CHROMIUM, openWatchedPage, signIn } from './browser.js';
import { startDashboardTestServer, type DashboardTestServer } from './dashboardServer.js';
import { closeBrowserAndServer } from './dashboardSession.js';
import { type CreatedJob, createSimJob, driveRollouts } from './simTraffic.js';

/**
 * A job page open while its job is deleted (DELETE .../jobs/{id}, docs/API.md "Deleting a job"): an
 * ended job whose guard watches is still polled, and every poll met a 404 that the page showed as
 * "Live update failed ... Retrying." for as long as it stayed open. It says the job was deleted and
 * stops polling.
 */
describe.skipIf(!existsSync(CHROMIUM))('dashboard: a job deleted while its page is open', () => {
  let s: DashboardTestServer;
  let browser: Browser;
  let page: Page;
  const requests: string[] = [];
  let job: CreatedJob;

  beforeAll(async () => {
    s = await startDashboardTestServer();
    job = await createSimJob(s.t.url, s.t.key);
    await driveRollouts(s.t.url, s.t.key, job.system_id, 6, 2);
    // Ended serving the baseline, its guard watching: the page keeps polling it.
    expect((await api(s.t.url, 'POST', `/api/policy-optimization/online/jobs/${job.job_id}/promote`, { key: s.t.key, body: { candidate_id: 'baseline' } })).status).toBe(200);
    ({ browser, page } = await openWatchedPage());
    page.on('request', (r) => void requests.push(r.url()));
    await signIn(page, s.url, s.t.key);
  });
  afterAll(() => closeBrowserAndServer(browser, s));

  it('says the job was deleted and stops polling', async () => {
    await page.goto(`${s.url}/#/jobs/${job.job_id}`);
    await expect.poll(() => page.locator('.job-header .live').textContent(), { timeout: 15_000 }).toContain('guard watching');

    expect((await api(s.t.url, 'DELETE', `/api/policy-optimization/online/jobs/${job.job_id}`, { key: s.t.key })).status).toBe(200);
    await page.getByRole('heading', { name: 'Job not found' }).waitFor({ timeout: 15_000 });
    expect(await page.getByRole('alert').allTextContents()).toContain(`Job ${job.job_id} was deleted.`);
    expect(await page.locator('.job-header').isVisible()).toBe(false);
    const polled = requests.filter((u) => u.includes(job.job_id)).length;
    await page.waitForTimeout(2500);
    expect(requests.filter((u) => u.includes(job.job_id)).length).toBe(polled);
  }, 60_000);
});
