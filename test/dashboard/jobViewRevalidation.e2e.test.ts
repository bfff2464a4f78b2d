import { existsSync } from 'node:fs';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHROMIUM, openWatchedPage, signIn } from './browser.js';
import { startDashboardTestServer, type DashboardTestServer } from './dashboardServer.js';
import { closeBrowserAndServer } from './dashboardSession.js';
import { type CreatedJob, createSimJob } from './simTraffic.js';

/**
 * In a real browser, the job page's polls of an unchanged job view are answered 304 with no body
 * (the client sends back the view's ETag: web/src/api.ts), and the page keeps showing the job:
 * Chromium hands the 304 to the page's fetch as it is, since the page set If-None-Match itself.
 */
describe.skipIf(!existsSync(CHROMIUM))('dashboard: an unchanged job view is revalidated, not sent again', () => {
  let s: DashboardTestServer;
  let browser: Browser;
  let page: Page;
  let problems: string[];
  let job: CreatedJob;
  const views: number[] = [];

  beforeAll(async () => {
    s = await startDashboardTestServer();
    job = await createSimJob(s.t.url, s.t.key);
    ({ browser, page, problems } = await openWatchedPage());
    page.on('response', (r) => {
      if (new URL(r.url()).pathname === `/api/policy-optimization/online/jobs/${job.job_id}` && r.request().method() === 'GET') views.push(r.status());
    });
    await signIn(page, s.url, s.t.key);
  });
  afterAll(() => closeBrowserAndServer(browser, s));

  it('gets 304s while the job does not change, and still shows the job', async () => {
    await page.goto(`${s.url}/#/jobs/${job.job_id}`);
    await expect.poll(() => views.filter((v) => v === 304).length, { timeout: 20_000 }).toBeGreaterThanOrEqual(2);
    expect(views[0]).toBe(200);
    expect(views.every((v) => v === 200 || v === 304)).toBe(true);
    await expect.poll(() => page.locator('.job-header').textContent()).toContain(job.job_id);
    expect(await page.getByRole('alert').count()).toBe(0);
    expect(problems).toEqual([]);
  }, 60_000);
});
