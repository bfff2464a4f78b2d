import { existsSync } from 'node:fs';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHROMIUM } from './browser.js';
import { startDashboardTestServer, type DashboardTestServer } from './dashboardServer.js';
import { closeBrowserAndServer, openJobPage } from './dashboardSession.js';
import { postReward } from './postReward.js';
import { createSimJob, type CreatedJob } from './simTraffic.js';

/** A job's page before it has much to show: no reward yet, then one reward (no champion yet), then two. */
describe.skipIf(!existsSync(CHROMIUM))('dashboard: a job with little to show yet', () => {
  let s: DashboardTestServer;
  let browser: Browser;
  let page: Page;
  let problems: string[] = [];
  let job: CreatedJob;
  let n = 0;
  const reward = () => postReward(s, job.system_id, { rolloutId: `r${n++}`, candidateId: 'baseline', score: 1 });
  const empty = (id: string) => page.locator(`#${id} .chart-empty`);

  beforeAll(async () => {
    s = await startDashboardTestServer({ cacheTtlMs: 20 });
    job = await createSimJob(s.url, s.t.key, { online_proposer_min_rollouts: 1000 });
    ({ browser, page, problems } = await openJobPage(s, job.job_id));
    await page.waitForSelector('.job-header [data-status="running"]');
  });

  afterAll(() => closeBrowserAndServer(browser, s));

  it('says each chart has no rewards yet, and that there are no proposals', async () => {
    for (const id of ['reward-chart', 'share-chart', 'champion-chart']) {
      await expect.poll(() => empty(id).isVisible()).toBe(true);
      expect(await empty(id).textContent()).toBe('No rewards yet.');
    }
    expect(await page.getByText(/^No proposals yet/).isVisible()).toBe(true);
  });

  it('after one reward the champion chart says why it draws nothing; after two it draws', async () => {
    await reward();
    await expect.poll(() => page.locator('#reward-chart .u-legend').count(), { timeout: 10_000 }).toBe(1);
    // The champion needs two rewards of one candidate: axes and a legend of dashes said nothing.
    expect(await empty('champion-chart').isVisible()).toBe(true);
    expect(await empty('champion-chart').textContent()).toBe('No champion yet: a candidate needs two rewards to be one.');
    expect(await page.locator('#champion-chart .u-legend').count()).toBe(0);
    await reward();
    await expect.poll(() => page.locator('#champion-chart .u-legend').count(), { timeout: 10_000 }).toBe(1);
    expect(await empty('champion-chart').isVisible()).toBe(false);
    expect(problems).toEqual([]);
  });
});
