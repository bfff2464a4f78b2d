import { existsSync } from 'node:fs';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Demo } from '../../src/optimizer/core/demos.js';
import { MiproJobsClient } from '../../src/sdk/index.js';
import { addModuleCandidates, pipelineCalls, pipelineJobBody } from '../helpers/server.js';
import { newProposalId } from '../../src/shared/ids.js';
import { CHROMIUM, screenshotPath } from './browser.js';
import { startDashboardTestServer, type DashboardTestServer } from './dashboardServer.js';
import { closeBrowserAndServer, openSignedInPage } from './dashboardSession.js';
import { createSupportPipelineJob } from './supportPipelineJob.js';

/**
 * Every page on a phone (390x844): nothing scrolls the page sideways, and what a row is about (the
 * job and its score, the candidate, its mean and its Promote button) is on screen, not in a table
 * scrolled out of its box. The wide tables become one card per row there.
 */
const PHONE = { width: 390, height: 844 };
const DEMO: Demo = { input: [{ role: 'user', content: 'Where is the Louvre?' }], output: 'In Paris.', rolloutId: 'r-phone-1' };

describe.skipIf(!existsSync(CHROMIUM))('dashboard on a phone', () => {
  let s: DashboardTestServer;
  let browser: Browser;
  let page: Page;
  let problems: string[] = [];
  let jobId: string;

  beforeAll(async () => {
    s = await startDashboardTestServer();
    const jobs = new MiproJobsClient({ backendUrl: s.url, apiKey: s.t.key });
    // A program of two modules with candidates for each (one with a demo), proposals and rewarded rollouts.
    jobId = await createSupportPipelineJob(s, jobs, DEMO);
    await jobs.create(pipelineJobBody());
    ({ browser, page, problems } = await openSignedInPage(s, { viewport: PHONE }));
  }, 60_000);

  afterAll(() => closeBrowserAndServer(browser, s));

  /** The page scrolls sideways: its content is wider than the viewport. */
  const pageScrollsSideways = () => page.evaluate(() => document.documentElement.scrollWidth > window.innerWidth);
  /** Elements matching `sel` that are not drawn, or run past the viewport's left or right edge. */
  const offScreen = (sel: string) => page.locator(sel).evaluateAll((els) => els
    .filter((e) => {
      const r = e.getBoundingClientRect();
      return r.width === 0 || r.left < 0 || r.right > window.innerWidth;
    })
    .map((e) => e.outerHTML.slice(0, 80)));
  /** Scroll boxes whose content is wider than they are: the part past their edge needs a sideways swipe. */
  const scrolledBoxes = () => page.locator('.table-scroll').evaluateAll((els) => els.filter((e) => e.scrollWidth > e.clientWidth).length);

  it('shows the jobs list as cards: each job\'s name, status and best score on screen', async () => {
    await page.goto(`${s.url}/#/jobs`);
    const rows = page.locator('table.jobs tbody tr[data-job]');
    await expect.poll(() => rows.count()).toBe(2);
    await expect.poll(() => page.locator(`tr[data-job="${jobId}"] td.best`).textContent()).toMatch(/^\d/);
    expect(await pageScrollsSideways()).toBe(false);
    expect(await scrolledBoxes()).toBe(0);
    expect(await offScreen('table.jobs tbody tr[data-job] a, table.jobs tbody .badge, table.jobs tbody td.best, table.jobs tbody td.created')).toEqual([]);
    // Each value says which column it is: the header row is for screen readers only on a phone.
    expect(await page.locator('table.jobs thead').isVisible()).toBe(true); // in the accessibility tree...
    expect(await page.locator('table.jobs thead').evaluate((e) => e.getBoundingClientRect().height)).toBeLessThanOrEqual(1); // ...not on screen
    const label = await page.locator(`tr[data-job="${jobId}"] td.best`).evaluate((e) => getComputedStyle(e, '::before').content);
    expect(label).toContain('Best score');
    await page.screenshot({ path: screenshotPath('40-phone-jobs'), fullPage: true });
    expect(problems).toEqual([]);
  });

  it('shows the job page without sideways scrolling: header, program, candidates, proposals and events', async () => {
    await page.goto(`${s.url}/#/jobs/${jobId}`);
    await page.locator('tr[data-candidate="cand_extract_lines"]').waitFor();
    await page.locator('.timeline li.proposal').first().waitFor();
    await page.locator('.event-log li').first().waitFor();
    expect(await pageScrollsSideways()).toBe(false);
    expect(await scrolledBoxes()).toBe(0);
    // Every candidate's id, mean and Promote button: the table scrolled in its box, with only # and part of the candidate cell in view.
    const rows = page.locator('table.leaderboard tbody tr[data-candidate]');
    expect(await rows.count()).toBe(3);
    expect(await offScreen('table.leaderboard .candidate-id code, table.leaderboard .mean, table.leaderboard [data-action="promote"], table.leaderboard .badge')).toEqual([]);
    expect(await page.locator('table.leaderboard [data-action="promote"]').count()).toBe(3);
    // The rank stays, in front of the candidate's id.
    expect(await rows.first().locator('.candidate-id').evaluate((e) => getComputedStyle(e, '::before').content)).toBe('"#1"');
    expect(await offScreen('.job-header .stat:not([hidden]) [data-stat], .program-panel .instruction-text, .timeline li.proposal h3, .timeline .diff, .event-log .emsg')).toEqual([]);
    // The short stats sit two to a row: the header was one long column, a screen and a half.
    const top = (stat: string) => page.locator(`.job-header [data-stat="${stat}"]`).evaluate((e) => Math.round(e.getBoundingClientRect().top));
    expect(await top('rollouts')).toBe(await top('baseline'));

    // A row opened to its program and demos stays inside the screen too.
    await rows.filter({ has: page.locator('code', { hasText: 'cand_extract_lines' }) }).locator('details.instruction summary').click();
    await page.locator('tr[data-candidate="cand_extract_lines"] li.demo').waitFor();
    expect(await pageScrollsSideways()).toBe(false);
    expect(await offScreen('tr[data-candidate="cand_extract_lines"] .instruction-text, tr[data-candidate="cand_extract_lines"] li.demo')).toEqual([]);
    await page.screenshot({ path: screenshotPath('41-phone-job'), fullPage: true });
    await page.locator('section[aria-labelledby="leaderboard-title"]').screenshot({ path: screenshotPath('42-phone-candidates') });
    expect(problems).toEqual([]);
  });

  it('keeps the Promote dialog off the screen\'s edges', async () => {
    await page.goto(`${s.url}/#/jobs/${jobId}`);
    await page.locator('tr[data-candidate="cand_answer_quote"] [data-action="promote"]').click();
    const dialog = page.getByRole('dialog');
    await dialog.waitFor();
    const box = await dialog.evaluate((e) => { const r = e.getBoundingClientRect(); return { left: r.left, right: window.innerWidth - r.right }; });
    // It ran from edge to edge, its border and the page behind it out of sight.
    expect(box.left).toBeGreaterThanOrEqual(8);
    expect(box.right).toBeGreaterThanOrEqual(8);
    expect(await pageScrollsSideways()).toBe(false);
    await page.screenshot({ path: screenshotPath('43-phone-promote-dialog') });
    await dialog.getByRole('button', { name: 'Keep as is' }).click();
    expect(problems).toEqual([]);
  });

  it('shows the sign-in page and an unknown job without sideways scrolling', async () => {
    await page.goto(`${s.url}/#/jobs/pl_unknown`);
    await expect.poll(() => page.locator('#not-found-title').isVisible()).toBe(true);
    expect(await pageScrollsSideways()).toBe(false);
    const fresh = await browser.newPage({ viewport: PHONE });
    try {
      await fresh.goto(`${s.url}/`);
      await fresh.getByLabel('API key').waitFor();
      expect(await fresh.evaluate(() => document.documentElement.scrollWidth > window.innerWidth)).toBe(false);
    } finally {
      await fresh.close();
    }
    expect(problems.filter((p) => !p.includes('status of 404'))).toEqual([]);
    problems.length = 0;
  });

  it('keeps a module named at the 64-character limit inside the screen: program, candidates, proposals and the rollout page', async () => {
    // Module names are identifiers without spaces ([a-z0-9_-]{1,64}): nothing to break a line at.
    const long = 'retrieve_customer_account_history_and_summarize_context_for_agen';
    expect(long).toHaveLength(64);
    const jobs = new MiproJobsClient({ backendUrl: s.url, apiKey: s.t.key });
    const body = pipelineJobBody({ online_proposer_min_rollouts: 1000, online_proposer_max_candidates: 2 });
    const modules = [{ name: long, template: 'Extract the entities.' }, { name: 'answer', template: 'Answer from this context:\n{context}' }];
    const wideJob = (await jobs.create({ policy_optimization: { ...body.policy_optimization, modules } })).job_id;
    await addModuleCandidates(s.t.server.store, wideJob, long, { cand_long_module: 'Extract every named entity, one per line.' }, { cand_long_module: [DEMO] });
    const session = await jobs.session(wideJob);
    const rollout = await session.nextRollout();
    await pipelineCalls(rollout.chat_completions_url);
    await session.updateReward({ rolloutId: rollout.rollout_id, rewardInfo: { score: 1 } });

    await page.goto(`${s.url}/#/jobs/${wideJob}`);
    await page.locator('tr[data-candidate="cand_long_module"]').waitFor();
    await page.locator('.program-panel li.program-module').first().waitFor();
    expect(await pageScrollsSideways()).toBe(false);
    // The header says why no proposal comes, naming the setting: one long word, kept inside its cell.
    const stopped = page.locator('.job-header dd[data-stat="proposals"]');
    await expect.poll(() => stopped.textContent()).toContain('mipro.online_proposer_max_candidates');
    expect(await stopped.evaluate((e) => e.scrollWidth <= e.clientWidth)).toBe(true);
    expect(await offScreen('.program-panel .module-name, .program-panel .instruction-text, table.leaderboard .tag-module')).toEqual([]);
    await page.locator('tr[data-candidate="cand_long_module"] details.instruction summary').click();
    await page.locator('tr[data-candidate="cand_long_module"] li.demo').waitFor();
    expect(await pageScrollsSideways()).toBe(false);
    expect(await offScreen('tr[data-candidate="cand_long_module"] .module-name, tr[data-candidate="cand_long_module"] .instruction-text')).toEqual([]);
    await page.screenshot({ path: screenshotPath('44-phone-long-module-name'), fullPage: true });

    // The filter on that module previews its text in each row; a proposal's prompt quotes the name.
    await page.locator('select[id^="module-filter"]').selectOption(long);
    await expect.poll(() => page.locator('table.leaderboard tbody tr[data-candidate]').count()).toBe(2);
    expect(await pageScrollsSideways()).toBe(false);
    const store = s.t.server.store;
    const lease = await store.startProposal({ jobId: wideJob, id: newProposalId(), parentId: 'baseline', module: long, tip: 'none', prompt: [{ role: 'user', content: `Improve module ${long}: see https://example.com/${'x'.repeat(120)}` }], leaseUntil: new Date(Date.now() + 60_000).toISOString(), now: new Date().toISOString() });
    if (!lease) throw new Error('no lease');
    await store.finishProposal({ jobId: wideJob, id: lease.id, status: 'failed', response: `{"instructions": ["${'y'.repeat(150)}"]}`, error: 'no usable instruction', events: [], candidates: [] });
    await page.reload();
    const proposal = page.locator(`li[data-proposal="${lease.id}"]`);
    await proposal.waitFor();
    await proposal.locator('details').first().locator('summary').click();
    expect(await proposal.getByText(`Parent instruction of ${long}`).count()).toBe(1);
    expect(await pageScrollsSideways()).toBe(false);
    expect(await offScreen(`li[data-proposal="${lease.id}"] summary`)).toEqual([]);
    expect(await offScreen(`li[data-proposal="${lease.id}"] details[open] pre`)).toEqual([]);

    await page.goto(`${s.url}/#/jobs/${wideJob}/rollouts/${rollout.rollout_id}`);
    await page.locator('.call-module').first().waitFor();
    expect(await pageScrollsSideways()).toBe(false);
    expect(await offScreen('.call-module')).toEqual([]);
    await page.screenshot({ path: screenshotPath('45-phone-long-module-rollout'), fullPage: true });
    expect(problems).toEqual([]);
  });

  it('keeps the tables as tables on a wide screen', async () => {
    await page.setViewportSize({ width: 1440, height: 900 });
    try {
      await page.goto(`${s.url}/#/jobs/${jobId}`);
      await page.locator('tr[data-candidate="cand_extract_lines"]').waitFor();
      expect(await page.locator('table.leaderboard thead th').first().isVisible()).toBe(true);
      expect(await page.locator('table.leaderboard tbody tr').first().evaluate((e) => getComputedStyle(e).display)).toBe('table-row');
      expect(await page.locator('table.leaderboard td.mean-cell').first().evaluate((e) => getComputedStyle(e, '::before').content)).toBe('none');
    } finally {
      await page.setViewportSize(PHONE);
    }
  });
});
