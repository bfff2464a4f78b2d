import { existsSync } from 'node:fs';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api } from '../helpers/server.js';
import { CHROMIUM } from './browser.js';
import { startDashboardTestServer, type DashboardTestServer } from './dashboardServer.js';
import { closeBrowserAndServer, openJobPage } from './dashboardSession.js';
import { postReward } from './postReward.js';
import { type CreatedJob, createSimJob, task } from './simTraffic.js';

/**
 * A job whose rewards are read against its declared range (mipro.reward_range 0-10): the charts'
 * axes, a candidate with one reward, the "best" tag before any reward, the event log's rewards.
 */
describe.skipIf(!existsSync(CHROMIUM))('dashboard: rewards against the job\'s range', () => {
  let s: DashboardTestServer;
  let browser: Browser;
  let page: Page;
  let problems: string[] = [];
  let job: CreatedJob;
  let rewards = 0;
  const reward = (candidateId: string, score: number) => postReward(s, job.system_id, { rolloutId: `r${rewards++}`, candidateId, score });
  const row = (id: string) => page.locator(`table.leaderboard tbody tr[data-candidate="${id}"]`);

  beforeAll(async () => {
    s = await startDashboardTestServer();
    job = await createSimJob(s.t.url, s.t.key, { reward_range: [0, 10], online_proposer_min_rollouts: 100_000 });
    ({ browser, page, problems } = await openJobPage(s, job.job_id));
    await row('baseline').waitFor({ timeout: 30_000 });
  }, 120_000);

  afterAll(() => closeBrowserAndServer(browser, s));

  it('does not tag the baseline "best" before anything is measured', async () => {
    // The API names the baseline best_candidate_id from the start; its mean then reads "—".
    expect(await row('baseline').locator('.tag').allTextContents()).toEqual(['control']);
    expect(await row('baseline').getAttribute('class')).not.toContain('is-best');
    await reward('baseline', 6);
    await expect.poll(() => row('baseline').locator('.tag').allTextContents(), { timeout: 10_000 }).toEqual(['best', 'control']);
  }, 60_000);

  it('scales the reward and champion charts to the declared 0–10, not to the data', async () => {
    // Rewards 0-8 (running means near 4): the axis was fitted to the data and read 2.3 to 6.4.
    for (let i = 0; i < 150; i++) await reward('baseline', (i % 5) * 2);
    await expect.poll(() => page.locator('#reward-chart .chart-box').getAttribute('data-y-range'), { timeout: 10_000 }).toBe('0,10');
    await expect.poll(() => page.locator('#champion-chart .chart-box').getAttribute('data-y-range'), { timeout: 10_000 }).toBe('0,10');
  }, 120_000);

  it('draws a marker for a candidate with a single reward', async () => {
    const added = await api(s.url, 'POST', `/api/v1/systems/${job.system_id}/candidates`, {
      key: s.t.key, body: { instruction: `${task.baselineInstruction}\nAnswer in one sentence.` },
    });
    expect(added.status, JSON.stringify(added.body)).toBe(200);
    const id = (added.body as { candidate_id: string }).candidate_id;
    await reward(id, 8);
    await row(id).waitFor();
    const color = await row(id).locator('.swatch').evaluate((e) => getComputedStyle(e).backgroundColor);
    expect(color).toMatch(/^rgb\(/);
    // Its series is one value among 150 others' points: uPlot draws no line through one point and
    // hides points on a dense chart, so the candidate was in the legend and nowhere on the plot.
    const pixels = () => page.evaluate((rgb) => {
      const canvas = document.querySelector<HTMLCanvasElement>('#reward-chart canvas');
      const data = canvas?.getContext('2d')?.getImageData(0, 0, canvas.width, canvas.height).data;
      if (!data) return -1;
      const [r, g, b] = (rgb.match(/\d+/g) ?? []).map(Number);
      let n = 0;
      for (let i = 0; i < data.length; i += 4) {
        if (Math.abs((data[i] ?? 0) - (r ?? 0)) + Math.abs((data[i + 1] ?? 0) - (g ?? 0)) + Math.abs((data[i + 2] ?? 0) - (b ?? 0)) < 24 && (data[i + 3] ?? 0) > 200) n++;
      }
      return n;
    }, color);
    await expect.poll(pixels, { timeout: 10_000 }).toBeGreaterThan(8);
  }, 60_000);

  it('writes a reward in the event log with the job\'s range', async () => {
    const last = page.locator('.event-log li[data-type="mipro.reward.received"] .emsg').first();
    // The server's message is "reward 8 for cand_…"; the page reads it against 0–10, as the rollout page does.
    await expect.poll(() => last.innerText(), { timeout: 10_000 }).toMatch(/^reward 8\.00 of 0–10 for \S+ · rollout r\d+$/);
    expect(await last.getAttribute('title')).toMatch(/^reward 8 for /);
    expect(problems).toEqual([]);
  }, 60_000);
});
