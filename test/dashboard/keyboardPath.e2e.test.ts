import { existsSync } from 'node:fs';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHROMIUM, openWatchedPage } from './browser.js';
import { startDashboardTestServer, type DashboardTestServer } from './dashboardServer.js';
import { closeBrowserAndServer } from './dashboardSession.js';
import { createSimJob, driveRollouts } from './simTraffic.js';

/**
 * A keyboard-only user, from sign-in to a rollout and back to its candidate: Tab and Enter only.
 * Also what a screen reader finds on the job page's charts.
 */
describe.skipIf(!existsSync(CHROMIUM))('dashboard: keyboard only, and the charts named', () => {
  let s: DashboardTestServer;
  let browser: Browser;
  let page: Page;
  let problems: string[] = [];
  let jobId: string;
  const focused = () => page.evaluate(() => {
    const a = document.activeElement as HTMLElement | null;
    return { tag: a?.tagName ?? '', text: (a?.textContent ?? '').trim(), href: a?.getAttribute('href') ?? '' };
  });
  /** Tab until `match` has focus; the number of presses it took. */
  const tabTo = async (match: (f: { tag: string; text: string; href: string }) => boolean, max = 150): Promise<number> => {
    for (let n = 1; n <= max; n++) {
      await page.keyboard.press('Tab');
      if (match(await focused())) return n;
    }
    throw new Error(`nothing matching was reached in ${max} Tab presses; focus on ${JSON.stringify(await focused())}`);
  };

  beforeAll(async () => {
    s = await startDashboardTestServer({ cacheTtlMs: 20 });
    const job = await createSimJob(s.url, s.t.key, { online_proposer_min_rollouts: 1000 });
    jobId = job.job_id;
    await driveRollouts(s.url, s.t.key, job.system_id, 6, 2);
    ({ browser, page, problems } = await openWatchedPage());
  });

  afterAll(() => closeBrowserAndServer(browser, s));

  it('goes jobs list -> job -> rollout -> its candidate with Tab and Enter', async () => {
    await page.goto(`${s.url}/`);
    await page.getByLabel('API key').focus();
    await page.keyboard.type(s.t.key);
    await page.keyboard.press('Enter');
    await page.locator('table.jobs tbody tr[data-job]').first().waitFor();
    expect(await focused()).toMatchObject({ tag: 'H1', text: 'Jobs' });

    await tabTo((f) => f.href === `#/jobs/${jobId}`);
    await page.keyboard.press('Enter');
    await page.waitForSelector('.job-header [data-status="running"]');
    expect((await focused()).tag).toBe('H1');
    expect((await focused()).text).toContain(jobId);

    // The event log's rollout links lead to a rollout page.
    await page.locator('.event-log a[href*="/rollouts/"], [aria-labelledby="events-title"] a[href*="/rollouts/"]').first().waitFor();
    const link = await tabTo((f) => f.href.startsWith(`#/jobs/${jobId}/rollouts/`));
    expect(link).toBeGreaterThan(0);
    await page.keyboard.press('Enter');
    await page.locator('.rollout-body:not([hidden])').waitFor();
    expect((await focused()).text).toMatch(/^Rollout /);

    await tabTo((f) => f.href.startsWith(`#/jobs/${jobId}/candidates/`));
    const candidate = (await focused()).text;
    await page.keyboard.press('Enter');
    // Its row on the job page, marked, with its instruction's toggle focused.
    await expect.poll(() => page.evaluate(() => document.activeElement?.closest('tr')?.getAttribute('data-candidate'))).toBe(candidate);
    expect(await page.locator(`tr[data-candidate="${candidate}"]`).getAttribute('aria-current')).toBe('true');
    expect(problems).toEqual([]);
  });

  it('names each chart\'s legend, the chart\'s numbers for a screen reader', async () => {
    await page.goto(`${s.url}/#/jobs/${jobId}`);
    await page.locator('#reward-chart .u-legend').waitFor();
    for (const [id, title] of [['reward-chart', 'Reward over rollouts'], ['share-chart', 'Traffic share'], ['champion-chart', 'Champion score over rollouts']] as const) {
      expect(await page.locator(`#${id} .u-legend`).getAttribute('aria-label')).toBe(`${title}: latest value of each series`);
      expect(await page.getByRole('table', { name: `${title}: latest value of each series` }).count()).toBe(1);
    }
    expect(problems).toEqual([]);
  });
});
