import { existsSync } from 'node:fs';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api } from '../helpers/server.js';
import { CHROMIUM } from './browser.js';
import { startDashboardTestServer, type DashboardTestServer } from './dashboardServer.js';
import { closeBrowserAndServer, openSignedInPage } from './dashboardSession.js';
import { postReward } from './postReward.js';
import { type CreatedJob, simJobBody } from './simTraffic.js';

/**
 * An app that calls the proxy without a seed (the README's quickstart) reports rewards without seeds:
 * each is an observation of its own and best_score_n_seeds is 0. The jobs list and the job header
 * read "n=12 on 0 seeds", an interval resting on nothing, for one resting on 12 rewards.
 */
describe.skipIf(!existsSync(CHROMIUM))('dashboard: best score of rewards without seeds', () => {
  let s: DashboardTestServer;
  let browser: Browser;
  let page: Page;
  let problems: string[] = [];
  let job: CreatedJob;

  beforeAll(async () => {
    s = await startDashboardTestServer();
    job = (await api(s.t.url, 'POST', '/api/policy-optimization/online/jobs', { key: s.t.key, body: simJobBody({ online_proposer_min_rollouts: 1000 }) })).body as CreatedJob;
    for (let i = 0; i < 12; i++) await postReward(s, job.system_id, { rolloutId: `r${i}`, candidateId: 'baseline', score: i % 3 ? 1 : 0 });
    ({ browser, page, problems } = await openSignedInPage(s));
  }, 120_000);

  afterAll(() => closeBrowserAndServer(browser, s));

  it('says n=12, not "on 0 seeds", in the jobs list and the header', async () => {
    const view = (await api(s.t.url, 'GET', `/api/policy-optimization/online/jobs/${job.job_id}`, { key: s.t.key })).body;
    expect(view).toMatchObject({ best_score_source: 'online', best_score_n: 12, best_score_n_seeds: 0 });
    const cells = await page.locator(`tr[data-job="${job.job_id}"] td`).allTextContents();
    expect(cells[4]).toMatch(/^0\.667 \[\d\.\d{3}, \d\.\d{3}\] · online, n=12$/);
    await page.goto(`${s.url}/#/jobs/${job.job_id}`);
    await page.waitForSelector('.job-header');
    await expect.poll(async () => page.locator('.job-header').innerText()).toMatch(/0\.667 \[\d\.\d{3}, \d\.\d{3}\] · online, n=12\s/);
    expect(await page.locator('.job-header').innerText()).not.toContain('seeds');
    expect(problems).toEqual([]);
  }, 120_000);
});
