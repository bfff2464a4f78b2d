import { existsSync } from 'node:fs';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MiproJobsClient } from '../../src/sdk/index.js';
import { addModuleCandidates, simJobBody } from '../helpers/server.js';
import { CHROMIUM, screenshotPath } from './browser.js';
import { startDashboardTestServer, type DashboardTestServer } from './dashboardServer.js';
import { closeBrowserAndServer, openSignedInPage } from './dashboardSession.js';

/**
 * A program of long templates (an operator's 16 modules of 2-6 KB each made the program panel 12,000
 * px tall, the leaderboard below it): a module text the candidate did not change is folded to its
 * first lines with a "Show all" button, the module it changed is shown whole, and a text opened by
 * the user stays open through the polls that rebuild the panel and the rows.
 */
const long = (name: string) => Array.from({ length: 30 }, (_, i) => `${i + 1}. Rule ${i + 1} for ${name}: answer {"ok": true} politely.`).join('\n');
const MODULES = [
  { name: 'extract', template: `Extract the entities.\n${long('extract')}` },
  { name: 'answer', template: `Answer from this context:\n{context}\n${long('answer')}` },
];
const CHANGED = `Answer in one sentence from this context:\n{context}\n${long('the answer')}`;

describe.skipIf(!existsSync(CHROMIUM))('dashboard: a program of long module texts', () => {
  let s: DashboardTestServer;
  let browser: Browser;
  let page: Page;
  let problems: string[] = [];
  let jobId: string;

  const rollout = async () => {
    const session = await new MiproJobsClient({ backendUrl: s.url, apiKey: s.t.key }).session(jobId);
    const r = await session.nextRollout();
    await session.updateReward({ rolloutId: r.rollout_id, rewardInfo: { score: 1 } });
  };

  beforeAll(async () => {
    s = await startDashboardTestServer();
    const jobs = new MiproJobsClient({ backendUrl: s.url, apiKey: s.t.key });
    const body = simJobBody({ online_proposer_min_rollouts: 1000 });
    jobId = (await jobs.create({ policy_optimization: { ...body.policy_optimization, modules: MODULES } })).job_id;
    await addModuleCandidates(s.t.server.store, jobId, 'answer', { cand_long_answer: CHANGED });
    await rollout();
    ({ browser, page, problems } = await openSignedInPage(s));
  });

  afterAll(() => closeBrowserAndServer(browser, s));

  it('folds the unchanged long module in the program panel, shows the changed one whole, and keeps an opened one open through a poll', async () => {
    await page.goto(`${s.url}/#/jobs/${jobId}`);
    const panel = page.locator('.program-panel');
    await panel.locator('li.program-module').first().waitFor();
    await panel.getByLabel('Candidate').selectOption('cand_long_answer');
    const extract = panel.locator('li.program-module[data-module="extract"]');
    const answer = panel.locator('li.program-module[data-module="answer"]');
    await expect.poll(() => answer.locator('.tag-changed').count()).toBe(1);
    expect(await answer.innerText()).toContain(CHANGED.split('\n').at(-1));
    expect(await answer.getByRole('button', { name: /Show all/ }).count()).toBe(0);
    const toggle = extract.getByRole('button', { name: /Show all \(\d[\d,]* characters\) of module extract/ });
    expect(await toggle.count()).toBe(1);
    expect(await extract.innerText()).not.toContain(MODULES[0]!.template.split('\n').at(-1));
    await toggle.click();
    expect(await extract.innerText()).toContain(MODULES[0]!.template.split('\n').at(-1));
    // A reward changes the candidates' counts, not the texts: they are not drawn again, and stay open.
    await extract.evaluate((e) => e.setAttribute('data-old-render', '1'));
    const rewards = page.locator('.job-header [data-stat="rewards"]');
    const before = await rewards.textContent();
    await rollout();
    await expect.poll(() => rewards.textContent(), { timeout: 10_000 }).not.toBe(before);
    expect(await panel.locator('li.program-module[data-module="extract"][data-old-render]').count()).toBe(1);
    expect(await extract.getByRole('button', { name: /Show less/ }).getAttribute('aria-expanded')).toBe('true');
    // Built again (another candidate, then this one), the text the user opened is still open.
    await panel.getByLabel('Candidate').selectOption('baseline');
    await panel.getByLabel('Candidate').selectOption('cand_long_answer');
    expect(await panel.locator('li.program-module[data-module="extract"]:not([data-old-render])').count()).toBe(1);
    expect(await extract.innerText()).toContain(MODULES[0]!.template.split('\n').at(-1));
    expect(await extract.getByRole('button', { name: /Show less/ }).getAttribute('aria-expanded')).toBe('true');
    await panel.screenshot({ path: screenshotPath('46-long-program-panel') });
    expect(problems).toEqual([]);
  });

  it('folds them the same way in an expanded leaderboard row', async () => {
    const row = page.locator('tr[data-candidate="cand_long_answer"]');
    await row.locator('details.instruction summary').click();
    const extract = row.locator('li.program-module[data-module="extract"]');
    await extract.waitFor();
    // Opened in the panel above (the same candidate's same module), it is open here too.
    expect(await extract.locator('button.fold-toggle').getAttribute('aria-expanded')).toBe('true');
    const intake = page.locator('tr[data-candidate="baseline"]');
    await intake.locator('details.instruction summary').click();
    await intake.locator('li.program-module[data-module="answer"]').waitFor();
    expect(await intake.locator('li.program-module[data-module="answer"]').getByRole('button', { name: /Show all .* of module answer/ }).count()).toBe(1);
    const answer = row.locator('li.program-module[data-module="answer"]');
    expect(await answer.innerText()).toContain(CHANGED.split('\n').at(-1));
    expect(await answer.locator('button.fold-toggle').count()).toBe(0);
    expect(problems).toEqual([]);
  });
});
