import { existsSync } from 'node:fs';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHROMIUM } from './browser.js';
import { startDashboardTestServer, type DashboardTestServer } from './dashboardServer.js';
import { closeBrowserAndServer, openJobPage } from './dashboardSession.js';
import { createSimJob } from './simTraffic.js';

/**
 * The server goes away while a job page is open (every API request refused, as a stopped server
 * refuses them) and comes back. The live line said "Live · <time of the last good read>" beside the
 * "Live update failed" alert the whole time.
 */
describe.skipIf(!existsSync(CHROMIUM))('dashboard: the server down mid-session', () => {
  let s: DashboardTestServer;
  let browser: Browser;
  let page: Page;
  const live = () => page.locator('.job-header .live').textContent();

  beforeAll(async () => {
    s = await startDashboardTestServer({ cacheTtlMs: 20 });
    const job = await createSimJob(s.url, s.t.key);
    ({ browser, page } = await openJobPage(s, job.job_id));
    await page.waitForSelector('.job-header [data-status="running"]');
  });

  afterAll(() => closeBrowserAndServer(browser, s));

  it('says the page is not updating while reads fail, and live again once one succeeds', async () => {
    await expect.poll(live).toMatch(/^Live · \d/);
    const shown = (await live())!.replace('Live · ', '');
    await page.route('**/api/**', (route) => route.abort('connectionrefused'));
    await expect.poll(() => page.locator('.job-page > .error-text').textContent(), { timeout: 10_000 }).toMatch(/^Live update failed: cannot reach the miprox server\. Retrying\.$/);
    expect(await live()).toMatch(new RegExp(`^Not updating: showing (${shown}|\\d\\d:\\d\\d:\\d\\d), retrying$`));
    await page.unroute('**/api/**');
    await expect.poll(live, { timeout: 10_000 }).toMatch(/^Live · \d/);
    expect(await page.locator('.job-page > .error-text').textContent()).toBe('');
  });
});
