import { existsSync } from 'node:fs';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addModuleCandidates, api, pipelineJobBody } from '../helpers/server.js';
import { CHROMIUM, openWatchedPage, signIn } from './browser.js';
import { startDashboardTestServer, type DashboardTestServer } from './dashboardServer.js';

/**
 * A program job with 551 candidates, in Chromium. Every poll that moved one mean drew all 551 rows
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
    ({ browser, page, problems } = await openWatchedPage());
    await signIn(page, s.url, s.t.key);
    await page.goto(`${s.url}/#/jobs/${job.job_id}`);
    await rows().nth(550).waitFor({ timeout: 30_000 });
  });

  afterAll(async () => {
    await browser?.close();
    await s?.close();
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
