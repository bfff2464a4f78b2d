import { existsSync, readFileSync } from 'node:fs';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addCandidates, api } from '../helpers/server.js';
import { CHROMIUM, screenshotPath } from './browser.js';
import { startDashboardTestServer, type DashboardTestServer } from './dashboardServer.js';
import { closeBrowserAndServer, openJobPage } from './dashboardSession.js';
import { createSimJob, driveRollouts } from './simTraffic.js';

const JOBS = '/api/policy-optimization/online/jobs';

/**
 * After the optimization, in Chromium: the usage numbers, promote from a leaderboard row behind a
 * confirmation (and a rollback), the served badge, and the export (shown and downloaded).
 */
describe.skipIf(!existsSync(CHROMIUM))('dashboard: promote, export, served badge, usage', () => {
  let s: DashboardTestServer;
  let browser: Browser;
  let page: Page;
  let jobId: string;
  let problems: string[] = [];
  const getJob = async () => (await api(s.url, 'GET', `${JOBS}/${jobId}`, { key: s.t.key })).body;

  beforeAll(async () => {
    s = await startDashboardTestServer();
    const job = await createSimJob(s.url, s.t.key, { online_proposer_min_rollouts: 1000 });
    jobId = job.job_id;
    await addCandidates(s.t.server.store, jobId, ['cand_main_1']);
    await driveRollouts(s.url, s.t.key, job.system_id, 8, 2);

    ({ browser, page, problems } = await openJobPage(s, jobId, { acceptDownloads: true }));
    await page.locator('table.leaderboard tbody tr[data-candidate="cand_main_1"]').waitFor();
  });

  afterAll(() => closeBrowserAndServer(browser, s));

  const stat = (key: string) => page.locator(`.job-header [data-stat="${key}"]`);

  it('shows the policy and proposer usage the API reports', async () => {
    // Call records are written after the answers: wait until the API counts all eight calls.
    await expect.poll(async () => (await getJob()).usage.policy.calls, { timeout: 5000 }).toBe(8);
    const usage = (await getJob()).usage;
    expect(usage.policy.total_tokens).toBeGreaterThan(0);
    const fmt = (n: number) => n.toLocaleString('en-US');
    await expect.poll(() => stat('policy-usage').textContent(), { timeout: 5000 })
      .toBe(`${fmt(usage.policy.total_tokens)} tokens · 8 calls (${fmt(usage.policy.prompt_tokens)} in, ${fmt(usage.policy.completion_tokens)} out)`);
    expect(await stat('proposer-usage').textContent()).toBe('0 tokens · 0 calls (0 in, 0 out)');
    expect(await stat('serving').textContent()).toBe('— (optimizing)');
    expect(await page.locator('.tag-served').count()).toBe(0);
  });

  it('keeps keyboard focus on a row\'s Promote button through a live update of the leaderboard', async () => {
    const row = page.locator('tr[data-candidate="cand_main_1"]');
    const rewards = Number(await row.locator('td').nth(5).textContent());
    await row.getByRole('button', { name: 'Promote cand_main_1' }).focus();
    const job = await getJob();
    expect((await api(s.url, 'POST', `/api/v1/online/sessions/${job.system_id}/reward`, { key: s.t.key, body: { candidate_id: 'cand_main_1', reward_info: { score: 0 } } })).status).toBe(200);
    await expect.poll(() => row.locator('td').nth(5).textContent(), { timeout: 10_000 }).toBe(String(rewards + 1));
    // The rows were rebuilt; Enter still means "promote", not "expand the instruction".
    expect(await page.evaluate(() => document.activeElement?.getAttribute('aria-label') ?? document.activeElement?.tagName)).toBe('Promote cand_main_1');
    await page.keyboard.press('Enter');
    const dialog = page.getByRole('dialog', { name: 'Promote cand_main_1?' });
    await dialog.waitFor();
    await dialog.getByRole('button', { name: 'Keep as is' }).click();
    expect((await getJob()).status).toBe('running');
  });

  it('promotes a candidate from its row after a confirmation; the row gets the served badge', async () => {
    const row = page.locator('tr[data-candidate="cand_main_1"]');
    await row.getByRole('button', { name: 'Promote cand_main_1' }).click();
    const dialog = page.getByRole('dialog', { name: 'Promote cand_main_1?' });
    await dialog.waitFor();
    expect(await dialog.textContent()).toContain('ends (succeeded) and its proxy URL serves cand_main_1 to every call from now on');
    // The safe choice has focus; declining changes nothing.
    expect(await dialog.getByRole('button', { name: 'Keep as is' }).evaluate((b) => b === document.activeElement)).toBe(true);
    await page.screenshot({ path: screenshotPath('20-promote-confirm') });
    await dialog.getByRole('button', { name: 'Keep as is' }).click();
    expect((await getJob()).status).toBe('running');

    await row.getByRole('button', { name: 'Promote cand_main_1' }).click();
    await page.getByRole('dialog', { name: 'Promote cand_main_1?' }).getByRole('button', { name: 'Promote' }).click();
    await page.waitForSelector('.job-header [data-status="succeeded"]');
    await expect.poll(() => row.locator('.tag-served').textContent()).toBe('served');
    expect(await row.locator('td').last().textContent()).toBe('serving');
    expect(await stat('serving').textContent()).toBe('cand_main_1');
    expect(await getJob()).toMatchObject({ status: 'succeeded', served_candidate_id: 'cand_main_1' });
    await page.screenshot({ path: screenshotPath('21-promoted'), fullPage: true });
  });

  it('rolls back to the baseline from its row (a finished job can be promoted again)', async () => {
    const row = page.locator('tr[data-candidate="baseline"]');
    await row.getByRole('button', { name: 'Roll back baseline' }).click();
    const dialog = page.getByRole('dialog', { name: 'Roll back to the baseline?' });
    // The job has already ended: the dialog says what changes (what it serves), not that it ends.
    expect(await dialog.textContent()).toContain('has ended (succeeded); its proxy URL serves baseline to every new rollout from now on, instead of cand_main_1');
    await dialog.getByRole('button', { name: 'Roll back' }).click();
    await expect.poll(() => row.locator('.tag-served').count()).toBe(1);
    expect(await page.locator('tr[data-candidate="cand_main_1"] .tag-served').count()).toBe(0);
    expect((await getJob()).served_candidate_id).toBe('baseline');
  });

  it('exports what the job serves: shown as JSON and downloaded as the same file', async () => {
    const panel = page.locator('.export-panel');
    await panel.getByLabel('Format').selectOption('dspy');
    await panel.getByRole('button', { name: 'Export' }).click();
    const output = panel.getByTestId('export-output');
    await expect.poll(() => output.isVisible()).toBe(true);
    const shown = JSON.parse((await output.textContent()) ?? '');
    const fromApi = (await api(s.url, 'GET', `${JOBS}/${jobId}/export?format=dspy`, { key: s.t.key })).body;
    expect(shown).toEqual(fromApi);
    expect(shown.metadata.miprox).toMatchObject({ candidate_id: 'baseline', served: true });
    const [download] = await Promise.all([page.waitForEvent('download'), panel.getByTestId('export-download').click()]);
    expect(download.suggestedFilename()).toBe(`${jobId}-dspy.json`);
    expect(JSON.parse(readFileSync((await download.path())!, 'utf8'))).toEqual(fromApi);
    await panel.screenshot({ path: screenshotPath('22-export') });
    expect(problems).toEqual([]);
  });

  it('does not leave an export of a candidate the job no longer serves on screen', async () => {
    const panel = page.locator('.export-panel');
    const output = panel.getByTestId('export-output');
    expect(await output.isVisible()).toBe(true); // the baseline's, from the test before
    // Promoted elsewhere (the API, another tab): the page follows the job (its guard watches).
    const promoted = await api(s.url, 'POST', `${JOBS}/${jobId}/promote`, { key: s.t.key, body: { candidate_id: 'cand_main_1' } });
    expect(promoted.status).toBe(200);
    await expect.poll(() => page.locator('tr[data-candidate="cand_main_1"] .tag-served').count(), { timeout: 8000 }).toBe(1);
    // The export said the baseline was served ("served": true) under a header serving cand_main_1.
    expect(await output.isVisible()).toBe(false);
    expect(await panel.getByTestId('export-download').isVisible()).toBe(false);
    expect(await panel.getByRole('status').textContent()).toBe('The job now serves cand_main_1: export again for its program.');
  });

  it('sends a refused key met by an export to sign-in, as every other action does', async () => {
    // The key revoked while the page is open: the export's 401 read "Could not export: ..." beside
    // an Export button that could never work again.
    await page.route('**/export?*', (r) => r.fulfill({ status: 401, contentType: 'application/json', body: JSON.stringify({ error: { message: 'unknown API key' } }) }));
    await page.locator('.export-panel').getByRole('button', { name: 'Export' }).click();
    await expect.poll(() => page.getByRole('alert').allTextContents()).toContain('Your API key is no longer accepted. Sign in again.');
    expect(await page.getByLabel('API key').isVisible()).toBe(true);
    await page.unroute('**/export?*');
  });
});
