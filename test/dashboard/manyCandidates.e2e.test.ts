import { existsSync } from 'node:fs';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addModuleCandidates, api, pipelineJobBody } from '../helpers/server.js';
import { CHROMIUM } from './browser.js';
import { startDashboardTestServer, type DashboardTestServer } from './dashboardServer.js';
import { closeBrowserAndServer, openJobPage } from './dashboardSession.js';

/**
 * A program job with 551 candidates, in Chromium. The table draws the best 50 until asked for all.
 * Every poll that moved one mean drew all 551 rows
 * again (about 0.4 s of script, style and layout on a quiet machine, during which the page did not
 * answer): a poll now leaves the rows whose candidate did not change in place, renumbering them only.
 */
describe.skipIf(!existsSync(CHROMIUM))('dashboard: a job with 551 candidates', () => {
  let s: DashboardTestServer;
  let browser: Browser;
  let page: Page;
  let problems: string[] = [];
  let job: { job_id: string; system_id: string };
  let rewards = 0;
  const reward = (candidateId: string, score: number) => api(s.url, 'POST', `/api/v1/online/sessions/${job.system_id}/reward`, {
    key: s.t.key, body: { rollout_id: `r${rewards++}`, candidate_id: candidateId, reward_info: { score } },
  });
  const rows = () => page.locator('table.leaderboard tbody tr[data-candidate]');

  beforeAll(async () => {
    s = await startDashboardTestServer({ cacheTtlMs: 20 });
    const created = await api(s.url, 'POST', '/api/policy-optimization/online/jobs', {
      key: s.t.key, body: pipelineJobBody({ online_proposer_min_rollouts: 100_000, reward_range: [0, 10] }),
    });
    expect(created.status, JSON.stringify(created.body)).toBe(200);
    job = created.body as typeof job;
    for (let b = 0; b < 11; b++) {
      const module = b % 2 ? 'answer' : 'extract';
      const text = (i: number) => (module === 'answer' ? `Answer from this context (variant ${b}.${i}):\n{context}` : `Extract the entities (variant ${b}.${i}).`);
      await addModuleCandidates(s.t.server.store, job.job_id, module, Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`cand_${b}_${i}`, text(i)])));
    }
    await new Promise((r) => setTimeout(r, 50)); // the engine's 20 ms cache
    for (let i = 0; i < 120; i++) {
      const res = await reward(i % 4 === 0 ? 'baseline' : `cand_${i % 11}_${i % 50}`, (i * 7) % 11 === 10 ? 9 : (i * 7) % 11);
      expect(res.status, JSON.stringify(res.body)).toBe(200);
    }
    ({ browser, page, problems } = await openJobPage(s, job.job_id));
    await rows().first().waitFor({ timeout: 30_000 });
  });

  afterAll(() => closeBrowserAndServer(browser, s));

  it('draws the best 50 rows (and the baseline), and all 551 on request, from the keyboard', async () => {
    // 551 rows made the table 30,000 px tall: the charts, proposals and event log were out of reach.
    const ids = await rows().evaluateAll((els) => els.map((e) => (e as HTMLElement).dataset.candidate));
    expect(ids.length).toBeGreaterThanOrEqual(50);
    expect(ids.length).toBeLessThanOrEqual(51);
    expect(ids).toContain('baseline');
    expect(await rows().nth(49).locator('td.rank').textContent()).toBe('50');
    expect(await page.locator('.rows-more').textContent()).toMatch(new RegExp(`^${551 - ids.length} more candidates not shown \\(ranked lower\\)\\. Show all 551$`));
    const toggle = page.getByRole('button', { name: 'Show all 551' });
    await toggle.focus();
    await page.keyboard.press('Enter');
    await expect.poll(() => rows().count()).toBe(551);
    // The same button, relabelled, keeps focus.
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe('Show the best 50 only');
    expect(await page.locator('.rows-more .muted').textContent()).toBe('All 551 candidates shown.');
  });

  it('keeps each chart\'s legend of hundreds of candidates in a box that scrolls, reachable from the keyboard', async () => {
    // It was 1,161 px tall under each of two charts.
    const legend = page.locator('#reward-chart .legend-scroll');
    const box = await legend.evaluate((e) => ({ height: e.clientHeight, content: e.scrollHeight, tabIndex: (e as HTMLElement).tabIndex }));
    expect(box.height).toBeLessThan(200);
    expect(box.content).toBeGreaterThan(box.height);
    expect(box.tabIndex).toBe(0);
    expect(await legend.getByRole('table', { name: 'Reward over rollouts: latest value of each series' }).count()).toBe(1);
    expect(await page.locator('#share-chart .legend-scroll').evaluate((e) => e.clientHeight)).toBeLessThan(200);
  });

  it('a link to a candidate ranked below the first 50 shows every row, and its own', async () => {
    // cand_5_20 has no reward: unrewarded candidates rank last.
    await page.goto(`${s.url}/#/jobs`);
    await page.locator('table.jobs tbody tr[data-job]').first().waitFor();
    await page.goto(`${s.url}/#/jobs/${job.job_id}/candidates/cand_5_20`);
    await expect.poll(() => page.evaluate(() => document.activeElement?.closest('tr')?.getAttribute('data-candidate')), { timeout: 15_000 }).toBe('cand_5_20');
    expect(Number(await page.locator('tr[data-candidate="cand_5_20"] td.rank').textContent())).toBeGreaterThan(50);
    expect(await rows().count()).toBe(551);
  });

  it('a poll that moves one mean leaves the other rows in place, renumbered', async () => {
    expect(await rows().count()).toBe(551);
    const mover = 'cand_10_49';
    expect(await page.locator(`tr[data-candidate="${mover}"] .mean`).textContent()).toBe('—');
    // Each row's nodes are marked: a row drawn again loses the mark.
    await rows().evaluateAll((els) => els.forEach((e) => { for (const cell of Array.from((e as HTMLTableRowElement).cells)) (cell as HTMLElement & { mark?: boolean }).mark = true; }));
    await page.evaluate(() => {
      const w = window as Window & { longest?: number };
      w.longest = 0;
      new PerformanceObserver((l) => { for (const e of l.getEntries()) w.longest = Math.max(w.longest ?? 0, e.duration); }).observe({ type: 'longtask' });
    });
    expect((await reward(mover, 10)).status).toBe(200);
    // The best rewarded mean: the mover is ranked right after the best candidate (which leads by rule).
    await expect.poll(() => page.locator(`tr[data-candidate="${mover}"] .mean`).textContent(), { timeout: 10_000 }).toBe('10.00');
    const drawn = await rows().evaluateAll((els) => els.map((e) => ({
      id: (e as HTMLElement).dataset.candidate,
      rank: (e as HTMLTableRowElement).cells[0]?.textContent,
      phoneRank: e.querySelector<HTMLElement>('.candidate-id')?.dataset.rank,
      kept: Array.from((e as HTMLTableRowElement).cells).every((c) => (c as HTMLElement & { mark?: boolean }).mark === true),
    })));
    // Ranks are 1..551 in order, on the kept rows too (the table and a phone's card).
    expect(drawn.map((d) => d.rank)).toEqual(drawn.map((_, k) => String(k + 1)));
    expect(drawn.map((d) => d.phoneRank)).toEqual(drawn.map((_, k) => `#${k + 1}`));
    expect(drawn.findIndex((d) => d.id === mover)).toBeLessThanOrEqual(1);
    // Only the mover's row (and the best's, should the best have changed) was drawn again.
    const redrawn = drawn.filter((d) => !d.kept).map((d) => d.id);
    expect(redrawn).toContain(mover);
    expect(redrawn.length).toBeLessThanOrEqual(2);
    const longest = await page.evaluate(() => (window as Window & { longest?: number }).longest ?? 0);
    console.log(`551 candidates: the longest task of the poll took ${Math.round(longest)} ms`);
    expect(problems).toEqual([]);
  });
});
