import { existsSync } from 'node:fs';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Demo } from '../../src/optimizer/core/demos.js';
import { MiproJobsClient } from '../../src/sdk/index.js';
import { CHROMIUM, screenshotPath } from './browser.js';
import { startDashboardTestServer, type DashboardTestServer } from './dashboardServer.js';
import { closeBrowserAndServer, openSignedInPage } from './dashboardSession.js';
import { createSupportPipelineJob } from './supportPipelineJob.js';

/**
 * The job page between a phone and a wide screen (a tablet, a half-screen window: 561 to 1,200 px),
 * where the candidates table and the jobs list are still tables: they fit their boxes, so no column
 * (the mean, Promote, the best score) sits past an edge behind a sideways scroll.
 */
const DEMO: Demo = { input: [{ role: 'user', content: 'Where is the Louvre?' }], output: 'In Paris.', rolloutId: 'r-mid-1' };
const WIDTHS = [561, 600, 700, 800, 900, 1000, 1200];

describe.skipIf(!existsSync(CHROMIUM))('dashboard between phone and wide screen', () => {
  let s: DashboardTestServer;
  let browser: Browser;
  let page: Page;
  let problems: string[] = [];
  let jobId: string;
  let jobs: MiproJobsClient;

  beforeAll(async () => {
    s = await startDashboardTestServer();
    jobs = new MiproJobsClient({ backendUrl: s.url, apiKey: s.t.key });
    jobId = await createSupportPipelineJob(s, jobs, DEMO);
    ({ browser, page, problems } = await openSignedInPage(s, { viewport: { width: 800, height: 900 } }));
  }, 60_000);

  afterAll(() => closeBrowserAndServer(browser, s));

  /** How far the candidates table runs past its box (0: it fits). */
  const overflow = () => page.locator('section[aria-labelledby="leaderboard-title"] .table-scroll').evaluate((e) => e.scrollWidth - e.clientWidth);

  /** Elements matching `sel` in the candidates panel that are not drawn, or run past its box's right edge. */
  const pastTheBox = (sel: string) => page.locator('section[aria-labelledby="leaderboard-title"] .table-scroll').evaluate((box, sel) => {
    const edge = box.getBoundingClientRect().right;
    return Array.from(box.querySelectorAll(sel)).filter((e) => {
      const r = e.getBoundingClientRect();
      return r.width === 0 || r.right > edge + 0.5;
    }).map((e) => e.outerHTML.slice(0, 80));
  }, sel);

  it('fits the candidates table in its box at 800 px, and from 561 to 1,200 px: the mean and Promote in view', async () => {
    await page.goto(`${s.url}/#/jobs/${jobId}`);
    const rows = page.locator('table.leaderboard tbody tr[data-candidate]');
    await expect.poll(() => rows.count()).toBe(3);
    await expect.poll(() => page.locator('tr[data-candidate="baseline"] .mean').textContent()).toMatch(/^\d/);
    const quote = (await jobs.get(jobId)).candidates?.find((c) => c.candidate_id === 'cand_answer_quote');
    const meta = `active · from baseline · ${quote?.rollout_count} rollout${quote?.rollout_count === 1 ? '' : 's'}`;
    for (const width of WIDTHS) {
      await page.setViewportSize({ width, height: 900 });
      expect({ width, overflow: await overflow() }).toEqual({ width, overflow: 0 });
      expect(await pastTheBox('.candidate-id code, .mean, .ci, [data-action="promote"], td.val-cell, td.rewards-cell')).toEqual([]);
      // Status, Parent and Rollouts are under the candidate's id instead of in columns of their own.
      expect(await page.locator('table.leaderboard th.parent-col').isVisible()).toBe(false);
      expect(await page.locator('tr[data-candidate="cand_answer_quote"] .candidate-meta').textContent()).toBe(meta);
    }
    await page.setViewportSize({ width: 800, height: 900 });
    await page.locator('section[aria-labelledby="leaderboard-title"]').screenshot({ path: screenshotPath('50-mid-candidates') });
    expect(problems).toEqual([]);
  });

  it('fits the jobs list in its box from 561 to 1,200 px: the ids wrap, not the page', async () => {
    await page.goto(`${s.url}/#/jobs`);
    await expect.poll(() => page.locator(`tr[data-job="${jobId}"] td.best`).textContent()).toMatch(/^\d/);
    const box = page.locator('.jobs-page .table-scroll');
    for (const width of WIDTHS) {
      await page.setViewportSize({ width, height: 900 });
      expect({ width, overflow: await box.evaluate((e) => e.scrollWidth - e.clientWidth) }).toEqual({ width, overflow: 0 });
      // The whole id is still there, on two lines if it must.
      expect(await page.locator(`tr[data-job="${jobId}"] td.card-key code`).textContent()).toBe(jobId);
    }
    await page.setViewportSize({ width: 800, height: 900 });
    await page.screenshot({ path: screenshotPath('51-mid-jobs') });
    expect(problems).toEqual([]);
  });

  it('keeps every column on a wide screen, where they fit, and the values once', async () => {
    await page.setViewportSize({ width: 1201, height: 900 });
    try {
      await page.goto(`${s.url}/#/jobs/${jobId}`);
      await page.locator('tr[data-candidate="cand_answer_quote"]').waitFor();
      expect(await overflow()).toBe(0);
      for (const col of ['status-col', 'parent-col', 'rollouts-col']) expect(await page.locator(`table.leaderboard th.${col}`).isVisible()).toBe(true);
      expect(await page.locator('tr[data-candidate="cand_answer_quote"] td.parent-cell').textContent()).toBe('baseline');
      expect(await page.locator('table.leaderboard .candidate-meta').first().isVisible()).toBe(false);
    } finally {
      await page.setViewportSize({ width: 800, height: 900 });
    }
  });
});
