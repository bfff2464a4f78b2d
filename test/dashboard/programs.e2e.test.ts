import { existsSync } from 'node:fs';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MiproJobsClient } from '../../src/sdk/index.js';
import { PIPELINE_MODULES, addCandidates, addModuleCandidates, pipelineCalls, pipelineJobBody, simJobBody } from '../helpers/server.js';
import { addProgram } from '../helpers/programs.js';
import { CHROMIUM, screenshotPath } from './browser.js';
import { startDashboardTestServer, type DashboardTestServer } from './dashboardServer.js';
import { closeBrowserAndServer, openSignedInPage } from './dashboardSession.js';
import { createSimJob } from './simTraffic.js';

/**
 * The job page of a program of several modules, in Chromium: the program panel, the changed module in
 * each leaderboard row, the module filter and the proposals' module; and a one-module job unchanged.
 */
const ANSWER_1 = 'Answer only from this context, and quote it:\n{context}';
const ANSWER_2 = 'Answer in one sentence from this context:\n{context}';
const EXTRACT_1 = 'Extract every named entity, one per line.';

describe.skipIf(!existsSync(CHROMIUM))('dashboard: programs of several modules', () => {
  let s: DashboardTestServer;
  let browser: Browser;
  let page: Page;
  let jobs: MiproJobsClient;
  let jobId: string;
  let plainJobId: string;
  let problems: string[] = [];

  beforeAll(async () => {
    s = await startDashboardTestServer();
    jobs = new MiproJobsClient({ backendUrl: s.url, apiKey: s.t.key });
    jobId = (await jobs.create(pipelineJobBody())).job_id;
    const session = await jobs.session(jobId);
    await addModuleCandidates(s.t.server.store, jobId, 'answer', { cand_answer_1: ANSWER_1, cand_answer_2: ANSWER_2 });
    await addModuleCandidates(s.t.server.store, jobId, 'extract', { cand_extract_1: EXTRACT_1 });
    // Real traffic through the proxy (fewer rollouts than the proposer needs, so the pool stays as built).
    for (let i = 0; i < 12; i++) {
      const rollout = await session.nextRollout();
      await pipelineCalls(rollout.chat_completions_url, `Fact ${i}: Paris is in France.`);
      await session.updateReward({ rolloutId: rollout.rollout_id, rewardInfo: { score: i % 3 === 0 ? 0 : 1 } });
    }
    plainJobId = (await createSimJob(s.url, s.t.key)).job_id;
    await addCandidates(s.t.server.store, plainJobId, ['cand_main_1']);

    ({ browser, page, problems } = await openSignedInPage(s));
  });

  afterAll(() => closeBrowserAndServer(browser, s));

  const rowIds = () => page.locator('table.leaderboard tbody tr[data-candidate]').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-candidate')));

  it('shows the best program module by module, and another candidate\'s with its changed module marked', async () => {
    await page.goto(`${s.url}/#/jobs/${jobId}`);
    const panel = page.locator('.program-panel');
    await panel.waitFor();
    const best = await jobs.get(jobId);
    expect(best.best_candidate_id).not.toBeNull();
    await expect.poll(() => panel.locator('.program-of').textContent()).toMatch(new RegExp(`^${best.best_candidate_id}best`));
    expect(await panel.locator('.program-module').evaluateAll((els) => els.map((e) => e.getAttribute('data-module')))).toEqual(['extract', 'answer']);
    expect(await panel.locator('.program-module .instruction-text').allTextContents()).toEqual(PIPELINE_MODULES.map((m) => best.best_program?.[m.name]));

    await panel.getByLabel('Candidate').selectOption('cand_answer_1');
    expect(await panel.locator('.program-module .instruction-text').allTextContents()).toEqual([PIPELINE_MODULES[0].template, ANSWER_1]);
    const changed = panel.locator('.program-module.is-changed');
    expect(await changed.count()).toBe(1);
    expect(await changed.getAttribute('data-module')).toBe('answer');
    expect(await changed.locator('.tag-changed').textContent()).toBe('changed here');
    expect(await panel.locator('.program-of').textContent()).toMatch(/^cand_answer_1.*changes module answer of baseline/);
    await page.screenshot({ path: screenshotPath('10-program-job'), fullPage: true });
    await panel.screenshot({ path: screenshotPath('10a-program-panel') });
  });

  it('labels a module an ancestor changed, so an inherited edit never reads as the baseline', async () => {
    const other = (await jobs.create(pipelineJobBody())).job_id;
    // A child that changed answer, of a parent that had changed extract: extract's text is inherited.
    await addProgram(s.t.server.store, other, 'cand_grandchild', { extract: EXTRACT_1, answer: ANSWER_2 }, 'answer');
    await page.goto(`${s.url}/#/jobs/${other}`);
    const panel = page.locator('.program-panel');
    await panel.waitFor();
    await panel.getByLabel('Candidate').selectOption('cand_grandchild');
    await expect.poll(() => panel.locator('.program-module .instruction-text').allTextContents()).toEqual([EXTRACT_1, ANSWER_2]);
    expect(await panel.locator('.program-module.is-changed').getAttribute('data-module')).toBe('answer');
    const inherited = panel.locator('.program-module.is-inherited');
    expect(await inherited.count()).toBe(1);
    expect(await inherited.getAttribute('data-module')).toBe('extract');
    expect(await inherited.locator('.tag-inherited').textContent()).toBe('changed earlier');
    await panel.screenshot({ path: screenshotPath('10c-program-inherited') });
    await panel.getByLabel('Candidate').selectOption('baseline');
    expect(await panel.locator('.program-module.is-inherited, .program-module.is-changed').count()).toBe(0);
    await page.goto(`${s.url}/#/jobs/${jobId}`);
    await page.locator('.program-panel').waitFor();
  });

  it('shows a whole program added by hand as changing each module it set, under each module\'s filter', async () => {
    const other = (await jobs.create(pipelineJobBody())).job_id;
    const session = await jobs.session(other);
    const added = await session.addCandidate({ instructions: { extract: EXTRACT_1, answer: ANSWER_1 } });
    expect(added).toMatchObject({ module: null, parent_id: 'baseline', changed_modules: ['extract', 'answer'] });
    await page.goto(`${s.url}/#/jobs/${other}`);
    const panel = page.locator('.program-panel');
    await panel.waitFor();
    await panel.getByLabel('Candidate').selectOption(added.candidate_id);
    await expect.poll(() => panel.locator('.program-of').textContent()).toMatch(new RegExp(`^${added.candidate_id}.*changes modules extract, answer of baseline \\(added by hand\\)`));
    expect(await panel.locator('.program-module.is-changed').evaluateAll((els) => els.map((e) => e.getAttribute('data-module')))).toEqual(['extract', 'answer']);
    expect(await panel.locator('.program-module.is-inherited').count()).toBe(0);
    const row = page.locator(`tr[data-candidate="${added.candidate_id}"]`);
    expect(await row.locator('.candidate-id .tag-module').allTextContents()).toEqual(['extract', 'answer']);
    const filter = page.getByLabel('Changed module');
    for (const module of ['extract', 'answer']) {
      await filter.selectOption(module);
      await expect.poll(async () => (await rowIds()).sort()).toEqual([added.candidate_id, 'baseline'].sort());
    }
    await filter.selectOption('');
    await page.goto(`${s.url}/#/jobs/${jobId}`);
    await page.locator('.program-panel').waitFor();
  });

  it('lays out a right-to-left instruction right to left, beside left-to-right modules', async () => {
    const other = (await jobs.create(pipelineJobBody())).job_id;
    const rtl = 'أجب فقط من هذا السياق، واقتبسه:\n{context}';
    await addModuleCandidates(s.t.server.store, other, 'answer', { cand_rtl: rtl });
    await page.goto(`${s.url}/#/jobs/${other}`);
    const panel = page.locator('.program-panel');
    await panel.waitFor();
    await panel.getByLabel('Candidate').selectOption('cand_rtl');
    await expect.poll(() => panel.locator('.program-module .instruction-text').allTextContents()).toEqual([PIPELINE_MODULES[0].template, rtl]);
    const direction = (sel: string) => page.locator(sel).evaluate((e) => getComputedStyle(e).direction);
    // In the page's direction the Arabic sentence's colon was drawn at its right end, the start of an Arabic line.
    expect(await direction('.program-panel .program-module[data-module="answer"] .instruction-text')).toBe('rtl');
    expect(await direction('.program-panel .program-module[data-module="extract"] .instruction-text')).toBe('ltr');
    expect(await direction('tr[data-candidate="cand_rtl"] .when-closed')).toBe('rtl');
    await page.goto(`${s.url}/#/jobs/${jobId}`);
    await page.locator('.program-panel').waitFor();
  });

  it('keeps the program panel\'s reward count live when a new reward leaves the mean where it was', async () => {
    const other = (await jobs.create(pipelineJobBody())).job_id;
    await addProgram(s.t.server.store, other, 'cand_steady', { extract: EXTRACT_1 }, 'extract');
    const session = await jobs.session(other);
    await session.updateReward({ candidateId: 'cand_steady', rewardInfo: { score: 1 } });
    await page.goto(`${s.url}/#/jobs/${other}`);
    const panel = page.locator('.program-panel');
    await panel.waitFor();
    await panel.getByLabel('Candidate').selectOption('cand_steady');
    await expect.poll(() => panel.locator('.program-of').textContent()).toMatch(/mean reward 1\.000 \(n=1\)$/);
    // A second reward of 1: the mean stays 1.000, the count moves (the leaderboard shows 2).
    await session.updateReward({ candidateId: 'cand_steady', rewardInfo: { score: 1 } });
    await expect.poll(() => page.locator('tr[data-candidate="cand_steady"] td').nth(5).textContent(), { timeout: 10_000 }).toBe('2');
    expect(await panel.locator('.program-of').textContent()).toMatch(/mean reward 1\.000 \(n=2\)$/);
    await page.goto(`${s.url}/#/jobs/${jobId}`);
    await page.locator('.program-panel').waitFor();
  });

  it('says a discovering job has no prompt yet, with nothing to promote, until the first proxied call brings one', async () => {
    const created = await jobs.create(simJobBody());
    await page.goto(`${s.url}/#/jobs/${created.job_id}`);
    const baseline = page.locator('table.leaderboard tbody tr[data-candidate="baseline"]');
    await baseline.waitFor();
    expect(await baseline.locator('summary .when-closed').textContent()).toBe("(no prompt yet: the first proxied call's system text becomes one)");
    expect(await baseline.locator('[data-action="promote"]').count()).toBe(0);
    // Opened, the row says the same, not "(empty: no system message)" (that is a module sending none).
    await baseline.locator('summary').click();
    expect(await baseline.locator('details .instruction-text').textContent()).toBe("(no prompt yet: the first proxied call's system text becomes one)");
    await baseline.locator('summary').click();
    const call = await fetch(`${created.proxy_url}/chat/completions`, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ messages: [{ role: 'system', content: 'Classify the banking query.' }, { role: 'user', content: 'lost card' }] }),
    });
    expect(call.status).toBe(200);
    // The next live update shows the discovered prompt, and the row can be promoted like any other.
    await expect.poll(() => baseline.locator('summary .when-closed').textContent(), { timeout: 15_000 }).toBe('Classify the banking query.');
    await expect.poll(() => baseline.locator('[data-action="promote"]').count()).toBe(1);
    await page.goto(`${s.url}/#/jobs/${jobId}`);
    await page.locator('.program-panel').waitFor();
  });

  it('says so for a module whose text is empty (the stage that sends no system message), instead of an empty box', async () => {
    const body = pipelineJobBody();
    body.policy_optimization.modules = [{ name: 'extract', template: PIPELINE_MODULES[0].template }, { name: 'chat', template: '' }] as never;
    const other = (await jobs.create(body)).job_id;
    await addProgram(s.t.server.store, other, 'cand_chat', { chat: 'Answer briefly.' }, 'chat');
    await page.goto(`${s.url}/#/jobs/${other}`);
    const panel = page.locator('.program-panel');
    await panel.waitFor();
    await panel.getByLabel('Candidate').selectOption('baseline');
    const chat = panel.locator('.program-module[data-module="chat"] .instruction-text');
    await expect.poll(() => chat.textContent()).toBe('(empty: no system message)');
    expect(await chat.locator('.muted').count()).toBe(1);
    await panel.getByLabel('Candidate').selectOption('cand_chat');
    await expect.poll(() => chat.textContent()).toBe('Answer briefly.');
    // The proposal's parent text (the baseline's, empty) says the same.
    const proposal = page.locator('.timeline li.proposal').first();
    await proposal.locator('summary', { hasText: 'Parent instruction of chat' }).click();
    expect(await proposal.locator('details .instruction-text').first().textContent()).toBe('(empty: no system message)');
    await page.goto(`${s.url}/#/jobs/${jobId}`);
    await page.locator('.program-panel').waitFor();
  });

  it('shows a proposal\'s child as retired once it is, though its own rewards did not change', async () => {
    const other = (await jobs.create(pipelineJobBody())).job_id;
    await addProgram(s.t.server.store, other, 'cand_doomed', { answer: ANSWER_2 }, 'answer');
    await page.goto(`${s.url}/#/jobs/${other}`);
    const child = page.locator('.timeline li.proposal .proposal-child .child-head');
    await expect.poll(() => child.textContent()).toMatch(/· active$/);
    await s.t.server.store.retireCandidate(other, 'cand_doomed', { eventType: 'mipro.candidate.retired', message: 'retired in a test' });
    await expect.poll(() => page.locator('tr[data-candidate="cand_doomed"] .badge').textContent(), { timeout: 10_000 }).toBe('retired');
    expect(await child.textContent()).toMatch(/· retired$/);
    await page.goto(`${s.url}/#/jobs/${jobId}`);
    await page.locator('.program-panel').waitFor();
  });

  it('shows the demos of a candidate that changed a module by its demos only, in the program panel too', async () => {
    const other = (await jobs.create(pipelineJobBody())).job_id;
    const session = await jobs.session(other);
    // answer's template has {context}: its demo carries the context it was answered from.
    const added = await session.addCandidate({ demos: { answer: [{ input: [{ role: 'user', content: 'Where is <b>Paris</b>?' }], output: 'In France.', variables: { context: 'Paris is in France.' } }] } });
    expect(added).toMatchObject({ module: 'answer', changed_modules: ['answer'] });
    await page.goto(`${s.url}/#/jobs/${other}`);
    const panel = page.locator('.program-panel');
    await panel.waitFor();
    await panel.getByLabel('Candidate').selectOption(added.candidate_id);
    // "changed here" on answer, whose text is the baseline's: what changed (its demos) is shown beside it.
    await expect.poll(() => panel.locator('.program-module.is-changed').getAttribute('data-module')).toBe('answer');
    const demos = panel.locator('.demos [data-demos-module="answer"]');
    await expect.poll(() => demos.count()).toBe(1);
    expect(await demos.locator('.demo-turn').allTextContents()).toEqual(['{context}: Paris is in France.', 'user: Where is <b>Paris</b>?', 'assistant: In France.']);
    await panel.getByLabel('Candidate').selectOption('baseline');
    await expect.poll(() => panel.locator('.demos').count()).toBe(0);
    await page.goto(`${s.url}/#/jobs/${jobId}`);
    await page.locator('.program-panel').waitFor();
  });

  it('says a one-module warm start was added by hand, as it says of a whole program', async () => {
    const other = (await jobs.create(pipelineJobBody())).job_id;
    const session = await jobs.session(other);
    const added = await session.addCandidate({ module: 'answer', instruction: ANSWER_1 });
    expect(added).toMatchObject({ module: 'answer', proposal_id: null, tip: null });
    await page.goto(`${s.url}/#/jobs/${other}`);
    const panel = page.locator('.program-panel');
    await panel.waitFor();
    await panel.getByLabel('Candidate').selectOption(added.candidate_id);
    await expect.poll(() => panel.locator('.program-of').textContent()).toMatch(new RegExp(`^${added.candidate_id}: changes module answer of baseline \\(added by hand\\) ·`));
    // A proposal's child is not.
    await addProgram(s.t.server.store, other, 'cand_proposed', { extract: EXTRACT_1 }, 'extract');
    await panel.getByLabel('Candidate').selectOption('cand_proposed', { timeout: 10_000 });
    await expect.poll(() => panel.locator('.program-of').textContent()).toMatch(/^cand_proposed: changes module extract of baseline ·/);
    await page.goto(`${s.url}/#/jobs/${jobId}`);
    await page.locator('.program-panel').waitFor();
  });

  it('wraps a long instruction inside its cell: the page never scrolls sideways', async () => {
    const other = (await jobs.create(pipelineJobBody())).job_id;
    const long = `See https://example.com/${'a'.repeat(320)} first.\n${'Answer from this context and be careful. '.repeat(45)}{context}`;
    await addProgram(s.t.server.store, other, 'cand_long', { answer: long }, 'answer');
    await page.goto(`${s.url}/#/jobs/${other}`);
    const panel = page.locator('.program-panel');
    await panel.waitFor();
    await panel.getByLabel('Candidate').selectOption('cand_long');
    await page.locator('tr[data-candidate="cand_long"] summary').click();
    await expect.poll(() => page.locator('tr[data-candidate="cand_long"] .instruction-text').count()).toBe(2);
    const widths = await page.evaluate(() => ({ page: document.documentElement.scrollWidth, viewport: window.innerWidth }));
    expect(widths.page).toBeLessThanOrEqual(widths.viewport);
    await page.goto(`${s.url}/#/jobs/${jobId}`);
    await page.locator('.program-panel').waitFor();
  });

  it('fits a phone-sized screen: neither a program job nor a one-module job scrolls sideways at 400 px', async () => {
    await page.setViewportSize({ width: 400, height: 900 });
    try {
      for (const id of [jobId, plainJobId]) {
        await page.goto(`${s.url}/#/jobs/${id}`);
        await page.locator('table.leaderboard tbody tr[data-candidate]').first().waitFor();
        await page.waitForTimeout(200);
        const wide = await page.evaluate(() => {
          const limit = window.innerWidth;
          // The elements sticking out, innermost first, to say what broke when this fails.
          return Array.from(document.querySelectorAll('body *')).filter((e) => e.getBoundingClientRect().right > limit + 0.5 && !e.closest('.table-scroll'))
            .map((e) => `${e.tagName.toLowerCase()}.${e.className}`).slice(-5);
        });
        expect({ id, wide, scroll: await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth) }).toEqual({ id, wide: [], scroll: true });
        await page.screenshot({ path: screenshotPath(`10d-narrow-${id === jobId ? 'program' : 'one-module'}`), fullPage: true });
      }
    } finally {
      await page.setViewportSize({ width: 1440, height: 900 });
      await page.goto(`${s.url}/#/jobs/${jobId}`);
      await page.locator('.program-panel').waitFor();
    }
  });

  it('names the changed module in each leaderboard row and expands a row to its whole program', async () => {
    const chips = await page.locator('table.leaderboard tbody tr[data-candidate]').evaluateAll((rows) =>
      Object.fromEntries(rows.map((r) => [r.getAttribute('data-candidate'), r.querySelector('.candidate-id .tag-module')?.textContent ?? null])));
    expect(chips).toEqual({ baseline: null, cand_answer_1: 'answer', cand_answer_2: 'answer', cand_extract_1: 'extract' });
    const row = page.locator('tr[data-candidate="cand_extract_1"]');
    await row.locator('summary').click();
    expect(await row.locator('summary').textContent()).toContain('Program');
    expect(await row.locator('.program-module .instruction-text').allTextContents()).toEqual([EXTRACT_1, PIPELINE_MODULES[1].template]);
    expect(await row.locator('.program-module.is-changed').getAttribute('data-module')).toBe('extract');
    await page.locator('table.leaderboard').screenshot({ path: screenshotPath('10b-program-leaderboard') });
  });

  it('filters the leaderboard to the candidates that changed one module, and back', async () => {
    const filter = page.getByLabel('Changed module');
    expect(await filter.locator('option').allTextContents()).toEqual(['All modules', 'extract', 'answer']);
    // The baseline stays as the reference row.
    await filter.selectOption('answer');
    await expect.poll(async () => (await rowIds()).sort()).toEqual(['baseline', 'cand_answer_1', 'cand_answer_2']);
    await filter.selectOption('extract');
    await expect.poll(async () => (await rowIds()).sort()).toEqual(['baseline', 'cand_extract_1']);
    // The expanded row stays open through the filter and the live updates.
    expect(await page.locator('tr[data-candidate="cand_extract_1"] details').getAttribute('open')).not.toBeNull();
    await page.waitForTimeout(2500); // one poll: the choice survives it
    expect(await filter.inputValue()).toBe('extract');
    // Each row keeps its rank among all candidates: a filtered table numbered 1, 2 put "#1" on a row
    // that is not the best.
    const ranks = async () => Object.fromEntries(await page.locator('table.leaderboard tbody tr[data-candidate]').evaluateAll((rows) => rows.map((r) => [r.getAttribute('data-candidate'), r.querySelector('td')?.textContent])));
    await filter.selectOption('');
    await expect.poll(async () => (await rowIds()).length).toBe(4);
    const all = await ranks();
    await filter.selectOption('extract');
    await expect.poll(async () => (await rowIds()).length).toBe(2);
    expect(await ranks()).toEqual({ baseline: all.baseline, cand_extract_1: all.cand_extract_1 });
    await filter.selectOption('');
    await expect.poll(async () => (await rowIds()).length).toBe(4);
  });

  it('says which module each proposal changed, with the diff of that module', async () => {
    const items = page.locator('.timeline li.proposal');
    await expect.poll(() => items.count()).toBe(2);
    const modules = await items.evaluateAll((els) => els.map((e) => e.querySelector('.tag-module')?.textContent));
    expect(modules.sort()).toEqual(['module: answer', 'module: extract']);
    // The answer proposal's diff compares the parent's answer text, not its first module's.
    const answer = items.filter({ hasText: 'module: answer' });
    expect((await answer.locator('.diff').allInnerTexts()).join('\n')).toContain('quote');
    expect(await answer.locator('.diff del').allTextContents()).not.toContain('Extract');
    await answer.screenshot({ path: screenshotPath('10c-program-proposal') });
  });

  it('does not call the baseline of a program without rewards "best"', async () => {
    // The API names the baseline best_candidate_id before any reward: the panel said "baseline best:
    // the baseline program · mean reward — (n=0)" and offered "Best (baseline)".
    const fresh = (await jobs.create(pipelineJobBody())).job_id;
    await page.goto(`${s.url}/#/jobs/${fresh}`);
    const panel = page.locator('.program-panel');
    await expect.poll(() => panel.locator('.program-of').textContent()).toMatch(/^baseline: the baseline program/);
    expect(await panel.locator('.tag-best').count()).toBe(0);
    expect(await panel.getByLabel('Candidate').locator('option').first().textContent()).toBe('baseline (no reward yet)');
  });

  it('keeps a one-module job as it was: no program panel, no module filter, no module chips', async () => {
    await page.goto(`${s.url}/#/jobs/${plainJobId}`);
    await expect.poll(rowIds).toContain('cand_main_1');
    expect(await page.locator('.program-panel').isVisible()).toBe(false);
    expect(await page.getByLabel('Changed module').isVisible()).toBe(false);
    expect(await page.locator('.tag-module').count()).toBe(0);
    expect(await page.locator('table.leaderboard thead th').count()).toBe(9); // ... and the Serve column (promote)
    const row = page.locator('tr[data-candidate="cand_main_1"]');
    await row.locator('summary').click();
    expect(await row.locator('summary').textContent()).toContain('Instruction');
    expect(await row.locator('.instruction-text').allTextContents()).toEqual(['Instruction cand_main_1']);
    expect(problems).toEqual([]);
  });
});
