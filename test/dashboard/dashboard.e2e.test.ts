import { existsSync } from 'node:fs';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api } from '../helpers/server.js';
import { CHROMIUM, openWatchedPage, screenshotPath } from './browser.js';
import { startDashboardTestServer, type DashboardTestServer } from './dashboardServer.js';
import { closeBrowserAndServer } from './dashboardSession.js';
import { type CreatedJob, createSimJob, driveRollouts, waitForJob } from './simTraffic.js';

/**
 * The dashboard end to end: a real server, a job on the offline simulator fed by real traffic
 * (scheduler -> proxy -> reward), and Chromium clicking through it.
 */
interface JobDoc {
  status: string;
  reward_count: number;
  proposal_seq: number;
  candidates: Array<{ candidate_id: string; reward_count: number }>;
}

describe.skipIf(!existsSync(CHROMIUM))('dashboard in a browser', () => {
  let s: DashboardTestServer;
  let browser: Browser;
  let page: Page;
  let job: CreatedJob;
  let idle: CreatedJob;
  const requests: string[] = [];
  let problems: string[] = [];

  const getJob = async (id: string) => (await api(s.t.url, 'GET', `/api/policy-optimization/online/jobs/${id}`, { key: s.t.key })).body as JobDoc;

  beforeAll(async () => {
    s = await startDashboardTestServer();
    idle = await createSimJob(s.t.url, s.t.key);
    // Guard off: a finished job whose guard watches is still read (test/dashboard/guard.e2e.test.ts).
    job = await createSimJob(s.t.url, s.t.key, { online_proposer_min_rollouts: 20, guard: 'off' });
    // Enough traffic for several proposals; then wait until they have finished.
    await driveRollouts(s.t.url, s.t.key, job.system_id, 96, 2);
    await waitForJob<JobDoc>(s.t.url, s.t.key, job.job_id, (j) => j.proposal_seq >= 2 && j.candidates.length >= 3);
    ({ browser, page, problems } = await openWatchedPage({ permissions: ['clipboard-read', 'clipboard-write'] }));
    page.on('request', (r) => requests.push(r.url()));
  });

  afterAll(() => closeBrowserAndServer(browser, s));

  it('refuses a wrong key and stays on sign-in', async () => {
    await page.goto(`${s.url}/`);
    await page.getByLabel('API key').fill('mpx_0000000000000000000000000000000000000000000000');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect.poll(() => page.getByRole('alert').first().textContent()).toContain('not accepted');
    expect(await page.getByLabel('API key').isVisible()).toBe(true);
    expect(await page.evaluate(() => sessionStorage.length)).toBe(0);
    await page.screenshot({ path: screenshotPath('01-signin-refused') });
  });

  it('signs in and lists every job of the tenant', async () => {
    await page.getByLabel('API key').fill(s.t.key);
    await page.getByRole('button', { name: 'Sign in' }).click();
    const rows = page.locator('table.jobs tbody tr[data-job]');
    await expect.poll(() => rows.count()).toBe(2);
    const row = page.locator(`tr[data-job="${job.job_id}"]`);
    const api = await getJob(job.job_id);
    const cells = await row.locator('td').allTextContents();
    expect(cells[1]).toBe('running');
    expect(Number(cells[3]?.replace(/,/g, ''))).toBeGreaterThanOrEqual(96);
    expect(cells[4]).toMatch(/^\d\.\d{3} \[\d\.\d{3}, \d\.\d{3}\] · (val|online)/);
    expect(Number(cells[5])).toBe(api.candidates.length);
    expect(await page.locator(`tr[data-job="${idle.job_id}"] td`).nth(3).textContent()).toBe('0');
    await page.screenshot({ path: screenshotPath('02-jobs') });
  });

  it('opens a job: header, leaderboard, both charts, proposals with diffs, event log', async () => {
    await page.locator(`tr[data-job="${job.job_id}"] a`).click();
    await page.waitForSelector('.job-header [data-status="running"]');
    expect(page.url()).toContain(`#/jobs/${job.job_id}`);
    const doc = await getJob(job.job_id);

    // Header: best score with its interval and source, proxy URL.
    await expect.poll(() => page.locator('[data-stat="best"]').textContent()).toMatch(/^\d\.\d{3} \[\d\.\d{3}, \d\.\d{3}\] · (val|online)/);
    const proxyUrl = await page.getByLabel('Proxy URL').inputValue();
    expect(proxyUrl).toMatch(new RegExp(`/api/mipro/v1/${job.system_id}$`));
    await page.getByRole('button', { name: 'Copy' }).click();
    await expect.poll(() => page.locator('.copy-status').textContent()).toBe('Copied');
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(proxyUrl);

    // Leaderboard: one row per candidate, the best one first.
    await expect.poll(() => page.locator('table.leaderboard tbody tr[data-candidate]').count()).toBe(doc.candidates.length);
    expect(await page.locator('table.leaderboard thead th').count()).toBe(9); // the last one: Serve (promote from the row)
    expect(await page.locator('table.leaderboard tbody tr').first().locator('.tag-best').count()).toBe(1);

    // Charts: a drawn canvas and a legend entry per candidate with rewards (plus the x series).
    for (const id of ['reward-chart', 'share-chart']) {
      const canvas = page.locator(`#${id} canvas`);
      await canvas.waitFor();
      const box = await canvas.boundingBox();
      expect(box?.width ?? 0).toBeGreaterThan(200);
      expect(box?.height ?? 0).toBeGreaterThan(100);
      const legend = await page.locator(`#${id} .u-legend .u-series`).allTextContents();
      const rewarded = doc.candidates.filter((c) => c.reward_count > 0).length;
      expect(legend.length).toBe(rewarded + 1);
      expect(legend.some((t) => t.includes('baseline'))).toBe(true);
    }
    // The canvas has ink: not a blank rectangle.
    const inked = await page.locator('#reward-chart canvas').evaluate((c: HTMLCanvasElement) => {
      const d = c.getContext('2d')?.getImageData(0, 0, c.width, c.height).data ?? new Uint8ClampedArray();
      let n = 0;
      for (let i = 3; i < d.length; i += 4) if ((d[i] ?? 0) > 0) n++;
      return n;
    });
    expect(inked).toBeGreaterThan(1000);

    // Proposals: one item per proposal, and word diffs against the parent.
    await expect.poll(() => page.locator('.timeline li.proposal').count()).toBeGreaterThanOrEqual(2);
    expect(await page.locator('.timeline .diff ins, .timeline .diff del').count()).toBeGreaterThan(0);
    expect(await page.locator('.timeline .tag-tip').first().textContent()).toMatch(/^tip: \w+/);

    // Event log: live region with entries.
    const log = page.getByRole('log');
    expect(await log.getAttribute('aria-live')).toBe('polite');
    await expect.poll(() => log.locator('li').count()).toBeGreaterThan(10);
    await page.screenshot({ path: screenshotPath('03-job'), fullPage: true });
    await page.locator('.job-header').screenshot({ path: screenshotPath('03a-header') });
    await page.locator('#reward-chart').locator('xpath=../..').screenshot({ path: screenshotPath('03b-charts') });
    await page.locator('.timeline').locator('xpath=../..').screenshot({ path: screenshotPath('03c-proposals-events') });
  });

  it('keeps an expanded instruction open across live updates, which arrive without a reload', async () => {
    const firstId = await page.locator('table.leaderboard tbody tr[data-candidate]').first().getAttribute('data-candidate');
    const row = page.locator(`table.leaderboard tbody tr[data-candidate="${firstId}"]`);
    await row.locator('summary').click();
    expect(await row.locator('details').getAttribute('open')).not.toBeNull();
    expect(await row.locator('.instruction-text').isVisible()).toBe(true);
    const rewardCells = page.locator('table.leaderboard tbody tr[data-candidate] td.rewards-cell');
    await rewardCells.evaluateAll((els) => els.forEach((el) => el.setAttribute('data-stale', 'yes')));
    const before = (await getJob(job.job_id)).reward_count;
    await driveRollouts(s.t.url, s.t.key, job.system_id, 12, 2);
    await expect.poll(() => page.locator('[data-stat="rewards"]').textContent(), { timeout: 8000 }).toBe(String(before + 12));
    // The rows of the candidates that got rewards were drawn again with the new numbers (new cells;
    // an open instruction is kept); the others are left as they were. The open row shows its count.
    await expect.poll(() => page.locator('table.leaderboard td.rewards-cell[data-stale]').count()).toBeLessThan(await rewardCells.count());
    const count = async () => String((await getJob(job.job_id)).candidates.find((c: { candidate_id: string }) => c.candidate_id === firstId)?.reward_count);
    await expect.poll(async () => (await row.locator('td.rewards-cell').textContent()) === (await count())).toBe(true);
    expect(await row.locator('details').getAttribute('open')).not.toBeNull();
  });

  it('pauses from the keyboard; the API agrees; cancel asks first', async () => {
    const pause = page.getByRole('button', { name: 'Pause' });
    await pause.focus();
    await page.keyboard.press('Enter');
    await page.waitForSelector('.job-header [data-status="paused"]');
    expect((await getJob(job.job_id)).status).toBe('paused');
    expect(await pause.isDisabled()).toBe(true);
    expect(await page.getByRole('button', { name: 'Resume' }).isEnabled()).toBe(true);
    await page.screenshot({ path: screenshotPath('04-paused') });

    await page.getByRole('button', { name: 'Cancel job…' }).click();
    const dialog = page.getByRole('dialog', { name: 'Cancel this job?' });
    await dialog.waitFor();
    await page.screenshot({ path: screenshotPath('05-cancel-confirm') });
    await dialog.getByRole('button', { name: 'Keep job' }).click();
    expect((await getJob(job.job_id)).status).toBe('paused');

    await page.getByRole('button', { name: 'Cancel job…' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Cancel job' }).click();
    await page.waitForSelector('.job-header [data-status="cancelled"]');
    expect((await getJob(job.job_id)).status).toBe('cancelled');
    for (const name of ['Pause', 'Resume', 'Cancel job…']) expect(await page.getByRole('button', { name }).isDisabled()).toBe(true);
    await expect.poll(() => page.locator('.job-header .live').textContent()).toContain('Final');
    // The leaderboard follows the cancel too: a cancelled job cannot be promoted (409), so no row offers it.
    expect(await page.locator('table.leaderboard tbody tr[data-candidate]').count()).toBeGreaterThan(0);
    expect(await page.locator('table.leaderboard button[data-action="promote"]').count()).toBe(0);
    // A final job is not polled any more (its guard does not watch: off here).
    const apiCalls = () => requests.filter((u) => u.includes('/api/')).length;
    const settled = apiCalls();
    await page.waitForTimeout(2500);
    expect(apiCalls()).toBe(settled);
  });

  it('says so when a job does not exist for this key', async () => {
    await page.goto(`${s.url}/#/jobs/pl_does_not_exist`);
    await expect.poll(() => page.getByRole('alert').allTextContents()).toContain('Job pl_does_not_exist was not found for this API key.');
  });

  it('signs out, never puts the key in a URL, and calls nothing but its own server', async () => {
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByLabel('API key').waitFor();
    expect(await page.evaluate(() => sessionStorage.length)).toBe(0);
    const origins = new Set(requests.map((u) => new URL(u).origin));
    expect([...origins].filter((o) => o !== s.url && !o.startsWith('data:'))).toEqual([]);
    expect(requests.filter((u) => u.includes(s.t.key))).toEqual([]);
    // The refused sign-in (401) and the missing job (404) log failed loads; nothing else may go wrong
    // (a CSP violation or a script error would show up here).
    expect(problems.filter((p) => !/status of (401|404)/.test(p))).toEqual([]);
  });
});
