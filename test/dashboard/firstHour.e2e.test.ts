import { existsSync } from 'node:fs';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api } from '../helpers/server.js';
import { CHROMIUM, screenshotPath } from './browser.js';
import { startDashboardTestServer, type DashboardTestServer } from './dashboardServer.js';
import { closeBrowserAndServer, openSignedInPage } from './dashboardSession.js';
import { type CreatedJob, driveRollouts, simJobBody, waitForJob } from './simTraffic.js';

/**
 * Issue 16 item 9, in Debian's Chromium: job names, the champion's score with its interval over
 * rollouts, the proposer's prompt and answer per proposal, legends that show values (not "—" for
 * every candidate), and a not-found page for another tenant's job (it used to keep an empty layout
 * with "Loading…" on screen).
 */
describe.skipIf(!existsSync(CHROMIUM))('dashboard: the first hour', () => {
  let s: DashboardTestServer;
  let browser: Browser;
  let page: Page;
  let job: CreatedJob;
  let foreign: CreatedJob;
  let problems: string[] = [];

  beforeAll(async () => {
    s = await startDashboardTestServer();
    const created = await api(s.t.url, 'POST', '/api/policy-optimization/online/jobs', { key: s.t.key, body: { ...simJobBody({ online_proposer_min_rollouts: 20 }), name: 'banking intents' } });
    job = created.body as CreatedJob;
    await driveRollouts(s.t.url, s.t.key, job.system_id, 60, 2);
    await waitForJob<{ proposal_seq: number; candidates: unknown[] }>(s.t.url, s.t.key, job.job_id, (j) => j.proposal_seq >= 2 && j.candidates.length >= 3);
    const other = await s.t.newTenantKey();
    foreign = (await api(s.t.url, 'POST', '/api/policy-optimization/online/jobs', { key: other.key, body: simJobBody() })).body as CreatedJob;
    ({ browser, page, problems } = await openSignedInPage(s));
  });

  afterAll(() => closeBrowserAndServer(browser, s));

  it("shows the job's name in the list and on its page", async () => {
    const link = page.locator(`tr[data-job="${job.job_id}"] a`);
    await expect.poll(() => link.locator('.job-name').textContent()).toBe('banking intents');
    await link.click();
    await expect.poll(() => page.locator('h1 .job-name').textContent()).toBe('banking intents');
  });

  it("charts the champion's score with its interval, and legends show values", async () => {
    const canvas = page.locator('#champion-chart canvas');
    await canvas.waitFor();
    expect((await canvas.boundingBox())?.width ?? 0).toBeGreaterThan(200);
    const values = page.locator('#champion-chart .u-legend .u-series:not(:first-child) .u-value');
    await expect.poll(() => values.count()).toBe(3);
    const texts = await values.allTextContents();
    // The mean names its champion ("0.83 · cand_x"); the bounds are numbers alone.
    expect(texts[0]).toMatch(/^\d\.\d{2} · (baseline|cand_\w+)$/);
    const [mean, low, high] = texts.map((v) => Number(v.split(' · ')[0]));
    expect(low).toBeLessThanOrEqual(mean!);
    expect(mean).toBeLessThanOrEqual(high!);
    expect(high! - low!).toBeGreaterThan(0);
    // With the pointer off the plot, every candidate's legend entry shows its latest value.
    await page.mouse.move(0, 0);
    for (const id of ['reward-chart', 'share-chart']) {
      const shown = await page.locator(`#${id} .u-legend .u-series:not(:first-child) .u-value`).allTextContents();
      expect(shown.length).toBeGreaterThan(1);
      for (const v of shown) expect(v).toMatch(/^\d/);
    }
  });

  it("shows the proposer's prompt and answer for each proposal", async () => {
    const proposals = (await api(s.t.url, 'GET', `/api/v1/online/sessions/${job.system_id}/proposals`, { key: s.t.key })).body.items as Array<{ proposal_id: string; response: string | null; prompt: Array<{ role: string; content: string }> }>;
    const done = proposals.find((p) => p.response !== null)!;
    const item = page.locator(`li.proposal[data-proposal="${done.proposal_id}"]`);
    await item.getByText('Proposer prompt and answer').click();
    const pres = await item.locator('.proposer-io pre').allTextContents();
    expect(pres.at(-1)).toBe(done.response);
    expect(pres.slice(0, -1)).toEqual(done.prompt.map((m) => m.content));
    await page.screenshot({ path: screenshotPath('10-first-hour-job'), fullPage: true });
  });

  it("says not found for another tenant's job, without an empty layout", async () => {
    await page.goto(`${s.url}/#/jobs/${foreign.job_id}`);
    await page.getByRole('heading', { name: 'Job not found' }).waitFor();
    expect(await page.getByText('Loading…').isVisible()).toBe(false);
    expect(await page.locator('.job-header').isVisible()).toBe(false);
    expect(await page.locator('.job-body').isVisible()).toBe(false);
    await page.screenshot({ path: screenshotPath('11-not-found') });
    // The browser logs the 404 of the foreign job's request itself; nothing else may appear.
    expect(problems.filter((p) => !/status of 404/.test(p))).toEqual([]);
  });
});
