import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newProposalId } from '../../src/shared/ids.js';
import { runCli } from '../helpers/childServer.js';
import { PIPELINE_MODULES, addCandidates, addModuleCandidates, api, pipelineJobBody } from '../helpers/server.js';
import { CHROMIUM, signIn } from './browser.js';
import { startDashboardTestServer, type DashboardTestServer } from './dashboardServer.js';
import { closeBrowserAndServer, openSignedInPage } from './dashboardSession.js';
import { createSimJob, driveRollouts, simJobBody, waitForJob } from './simTraffic.js';

/**
 * Details of what the pages show that a glance misses: how numbers are written, in which order
 * answers land, what user text looks like. One server and one browser for all of them.
 */
describe.skipIf(!existsSync(CHROMIUM))('dashboard page details', () => {
  let s: DashboardTestServer;
  let browser: Browser;
  let page: Page;
  let problems: string[] = [];

  beforeAll(async () => {
    s = await startDashboardTestServer();
    await createSimJob(s.t.url, s.t.key);
    ({ browser, page, problems } = await openSignedInPage(s));
  });

  afterAll(() => closeBrowserAndServer(browser, s));

  it('writes a negative number in a chart the way the tables do, with a minus sign (−), not a hyphen', async () => {
    // Rewards of 0 and -1 on a [-1, 1] job: every running mean is negative or zero.
    const job = await createSimJob(s.t.url, s.t.key, { reward_range: [-1, 1], online_proposer_min_rollouts: 1000 });
    await driveRollouts(s.t.url, s.t.key, job.system_id, 8, 2, () => -1);
    await waitForJob<{ reward_count: number }>(s.t.url, s.t.key, job.job_id, (j) => j.reward_count === 8);
    await page.goto(`${s.url}/#/jobs/${job.job_id}`);
    const legend = page.locator('#reward-chart .u-legend .u-series .u-value');
    await expect.poll(() => legend.allTextContents()).toContain('−1.00');
    const values = [
      ...await legend.allTextContents(),
      ...await page.locator('#champion-chart .u-legend .u-series .u-value').allTextContents(),
    ];
    expect(values.filter((v) => v.includes('-'))).toEqual([]);
    // The leaderboard says the same number the same way.
    const board = (await api(s.t.url, 'GET', `/api/policy-optimization/online/jobs/${job.job_id}`, { key: s.t.key })).body as { candidates: Array<{ avg_reward: number }> };
    expect(board.candidates[0]?.avg_reward).toBe(-1);
    expect(await page.locator('tr[data-candidate="baseline"]').textContent()).toContain('−1.000');
    expect(problems).toEqual([]);
  });

  it('lays out a right-to-left job name right to left in the jobs list, the job header and the tab title', async () => {
    const name = 'مساعد خدمة العملاء: البطاقات';
    const create = async (body: Record<string, unknown>) => (await api(s.t.url, 'POST', '/api/policy-optimization/online/jobs', { key: s.t.key, body })).body as { job_id: string };
    const rtl = await create({ ...simJobBody(), name });
    const ltr = await create({ ...simJobBody(), name: 'Card support' });
    const direction = (sel: string) => page.locator(sel).evaluate((e) => getComputedStyle(e).direction);
    await page.goto(`${s.url}/#/jobs`);
    await page.locator(`tr[data-job="${rtl.job_id}"] .job-name`).waitFor();
    // In the page's direction the name's trailing colon was drawn at its right end, where an Arabic line starts.
    expect(await direction(`tr[data-job="${rtl.job_id}"] .job-name`)).toBe('rtl');
    expect(await direction(`tr[data-job="${ltr.job_id}"] .job-name`)).toBe('ltr');
    await page.goto(`${s.url}/#/jobs/${rtl.job_id}`);
    await expect.poll(() => page.getByTestId('job-name').textContent()).toBe(name);
    expect(await direction('.job-header [data-testid="job-name"]')).toBe('rtl');
    // The tab names the job; the name is isolated so that it cannot reorder " · Job <id>" around it.
    await expect.poll(() => page.title()).toBe(`\u2068${name}\u2069 · Job ${rtl.job_id} · miprox`);
    expect(problems).toEqual([]);
  });

  it('shows the jobs of the filter chosen last, even when the answer for an earlier one lands after it', async () => {
    const paused = await createSimJob(s.t.url, s.t.key);
    expect((await api(s.t.url, 'POST', `/api/policy-optimization/online/jobs/${paused.job_id}/pause`, { key: s.t.key })).status).toBe(200);
    // Answers the page has finished with: recorded one task after the body was read, once every
    // promise callback that the answer started (the page's render) has run.
    await page.evaluate(() => {
      const w = window as unknown as { settled: string[]; fetch: typeof fetch };
      const plain = w.fetch.bind(window);
      w.settled = [];
      w.fetch = async (input, init) => {
        const res = await plain(input, init);
        const text = res.text.bind(res);
        res.text = () => text().then((t) => {
          setTimeout(() => w.settled.push(String(input)), 0);
          return t;
        });
        return res;
      };
    });
    const settled = () => page.evaluate(() => (window as unknown as { settled: string[] }).settled.filter((u) => u.includes('/online/jobs?')));
    // The first list of the page ("All") is held until the "paused" list has been shown.
    let release: () => void = () => {};
    let heldOne = false;
    const held = new Promise<void>((resolve) => {
      void page.route((url) => url.pathname === '/api/policy-optimization/online/jobs', async (route) => {
        if (heldOne || new URL(route.request().url()).searchParams.has('status')) return route.continue();
        heldOne = true;
        resolve();
        await new Promise<void>((r) => { release = r; });
        await route.continue();
      });
    });
    await page.goto(`${s.url}/#/jobs`);
    await held;
    await page.getByLabel('Status').selectOption('paused');
    const rows = page.locator('table.jobs tbody tr[data-job]');
    await expect.poll(() => rows.evaluateAll((trs) => trs.map((tr) => (tr as HTMLElement).dataset.job))).toEqual([paused.job_id]);
    release();
    // (The 5 s refresh may come in between: it asks for the paused jobs.)
    await expect.poll(async () => (await settled()).some((u) => !u.includes('status='))).toBe(true);
    // The late "All" answer is dropped: the list is still the paused jobs, under the "paused" filter.
    expect(await rows.evaluateAll((trs) => trs.map((tr) => (tr as HTMLElement).dataset.job))).toEqual([paused.job_id]);
    expect(await page.getByLabel('Status').inputValue()).toBe('paused');
    await page.unrouteAll();
    expect(problems).toEqual([]);
  });

  it('loads a long job\'s older proposals a page at a time, and keeps them through a refresh', async () => {
    const job = await createSimJob(s.t.url, s.t.key, { online_proposer_min_rollouts: 1000 });
    const store = s.t.server.store;
    // Failed proposals are the cheapest to record; 120 are three pages of 50.
    const propose = async () => {
      const lease = await store.startProposal({ jobId: job.job_id, id: newProposalId(), parentId: 'baseline', module: 'main', tip: 'none', prompt: [], leaseUntil: new Date(Date.now() + 60_000).toISOString(), now: new Date().toISOString() });
      if (!lease) throw new Error('no lease');
      await store.finishProposal({ jobId: job.job_id, id: lease.id, status: 'failed', response: null, error: 'proposer timeout', events: [], candidates: [] });
    };
    for (let k = 0; k < 120; k++) await propose();
    const asked: string[] = [];
    page.on('request', (r) => {
      if (r.url().includes(`/sessions/${job.system_id}/proposals`)) asked.push(r.url());
    });
    await page.goto(`${s.url}/#/jobs/${job.job_id}`);
    const seqs = () => page.locator('.timeline > li.proposal h3').evaluateAll((hs) => hs.map((h) => Number(/#(\d+)/.exec(h.textContent ?? '')?.[1])));
    const older = page.locator('.proposals-older');
    const more = page.getByRole('button', { name: 'Load older proposals' });
    await expect.poll(() => page.locator('.timeline > li.proposal').count()).toBe(50);
    expect((await seqs())[0]).toBe(120);
    expect(await older.textContent()).toBe('Showing the newest 50 proposals (#71 to #120); the 70 older ones (#1 to #70) are not loaded yet.');
    expect(await page.locator('.job-header [data-stat="proposals"]').textContent()).toBe('120 · 120 failed, the last: proposer timeout');

    await more.click();
    await expect.poll(() => page.locator('.timeline > li.proposal').count()).toBe(100);
    expect(await older.textContent()).toBe('Showing the newest 100 proposals (#21 to #120); the 20 older ones (#1 to #20) are not loaded yet.');
    // The next page starts where the first ended: a cursor, not the first page again.
    expect(asked.some((u) => new URL(u).searchParams.has('cursor'))).toBe(true);

    // The last page: the note and the button go, and a keyboard user on the button lands on the first proposal it brought.
    await more.focus();
    await page.keyboard.press('Enter');
    await expect.poll(seqs).toEqual(Array.from({ length: 120 }, (_, k) => 120 - k));
    expect(await older.isHidden()).toBe(true);
    expect(await more.isHidden()).toBe(true);
    await expect.poll(() => page.evaluate(() => document.activeElement?.closest('li.proposal')?.querySelector('h3')?.textContent ?? null)).toMatch(/^Proposal #20/);

    // A new proposal: the refresh re-reads the list as far as it was loaded, older pages included.
    await propose();
    await expect.poll(seqs, { timeout: 8_000 }).toEqual(Array.from({ length: 121 }, (_, k) => 121 - k));
    expect(await more.isHidden()).toBe(true);
    page.removeAllListeners('request');
    expect(problems).toEqual([]);
  });

  it('keeps keyboard focus on the job\'s actions through Pause, Resume and Cancel', async () => {
    const job = await createSimJob(s.t.url, s.t.key);
    await page.goto(`${s.url}/#/jobs/${job.job_id}`);
    await page.locator('.job-header [data-status="running"]').waitFor();
    const focused = () => page.evaluate(() => document.activeElement?.textContent ?? null);
    await page.getByRole('button', { name: 'Pause' }).focus();
    await page.keyboard.press('Enter');
    await page.locator('.job-header [data-status="paused"]').waitFor();
    // The pressed button is disabled now: focus moves to the one that undoes it, not to the page.
    await expect.poll(focused).toBe('Resume');
    await page.keyboard.press('Enter');
    await page.locator('.job-header [data-status="running"]').waitFor();
    await expect.poll(focused).toBe('Pause');
    await page.keyboard.press('Tab'); // past the disabled Resume
    expect(await focused()).toBe('Cancel job…');
    await page.keyboard.press('Enter');
    await page.getByRole('dialog').getByRole('button', { name: 'Cancel job' }).click();
    await page.locator('.job-header [data-status="cancelled"]').waitFor();
    // Every action is disabled: focus goes to the job's title.
    await expect.poll(() => page.evaluate(() => document.activeElement?.id)).toBe('job-title');
    expect(problems).toEqual([]);
  });

  it('keeps what an action answered, and keyboard focus, when a read of the job from before it lands after it', async () => {
    // The page reads the job every 2 s, and at once after an action. The read after Pause, still under
    // way when Resume was answered, put "paused" back in the header until the next read, and disabled
    // the Pause that focus had just moved to: focus fell to the page (the test above failed that way
    // on a loaded machine). Here that read is held until Resume was answered.
    const job = await createSimJob(s.t.url, s.t.key);
    const jobPath = `/api/policy-optimization/online/jobs/${job.job_id}`;
    await page.goto(`${s.url}/#/jobs/${job.job_id}`);
    await page.locator('.job-header [data-status="running"]').waitFor();
    const focused = () => page.evaluate(() => document.activeElement?.textContent ?? null);
    // The first read that finds the job paused is answered, and delivered once Resume was answered.
    let deliver: () => void = () => {};
    const delivered = new Promise<void>((r) => { deliver = r; });
    let heldOne = false;
    const readHeld = new Promise<void>((resolve) => {
      void page.route((url) => url.pathname === jobPath, async (route) => {
        if (heldOne || route.request().method() !== 'GET') return route.fallback();
        const response = await route.fetch();
        if (heldOne || !(await response.text()).includes('"status":"paused"')) return route.fulfill({ response });
        heldOne = true;
        resolve();
        await delivered;
        await route.fulfill({ response });
      });
    });
    try {
      await page.getByRole('button', { name: 'Pause' }).focus();
      await page.keyboard.press('Enter');
      await expect.poll(focused).toBe('Resume');
      await readHeld;
      await page.keyboard.press('Enter');
      await page.locator('.job-header [data-status="running"]').waitFor();
      await expect.poll(focused).toBe('Pause');
      // Once the late read is rendered, the page reads the job again: wait for that read.
      let readsAfter = 0;
      const onRequest = (r: { method(): string; url(): string }) => {
        if (r.method() === 'GET' && new URL(r.url()).pathname === jobPath) readsAfter++;
      };
      page.on('request', onRequest);
      try {
        deliver();
        await expect.poll(() => readsAfter).toBeGreaterThan(0);
      } finally {
        page.off('request', onRequest);
      }
      expect(await page.locator('.job-header [data-status]').getAttribute('data-status')).toBe('running');
      expect(await focused()).toBe('Pause');
    } finally {
      deliver();
      await page.unrouteAll();
    }
    expect(problems).toEqual([]);
  });

  it('says the champion of a running job changed under an export, not that the job now serves it', async () => {
    const job = await createSimJob(s.t.url, s.t.key, { online_proposer_min_rollouts: 1000 });
    await addCandidates(s.t.server.store, job.job_id, ['cand_a']);
    await page.goto(`${s.url}/#/jobs/${job.job_id}`);
    const panel = page.locator('.export-panel');
    await page.locator('tr[data-candidate="cand_a"]').waitFor();
    await panel.getByRole('button', { name: 'Export' }).click();
    await expect.poll(() => panel.getByRole('status').textContent()).toBe('Exported as json.');
    // Rewards make cand_a the champion; the running job still serves each rollout its own pick.
    const read = async () => (await api(s.t.url, 'GET', `/api/policy-optimization/online/jobs/${job.job_id}`, { key: s.t.key })).body as { best_candidate_id: string; served_candidate_id: string | null };
    for (let k = 0; k < 80 && (await read()).best_candidate_id !== 'cand_a'; k++) {
      const r = (await api(s.t.url, 'POST', `/api/v1/online/sessions/${job.system_id}/rollouts`, { key: s.t.key, body: {} })).body as { rollout_id: string; candidate_id: string };
      const score = r.candidate_id === 'cand_a' ? 1 : 0;
      expect((await api(s.t.url, 'POST', `/api/v1/online/sessions/${job.system_id}/reward`, { key: s.t.key, body: { rollout_id: r.rollout_id, reward_info: { score } } })).status).toBe(200);
    }
    expect(await read()).toMatchObject({ best_candidate_id: 'cand_a', served_candidate_id: null });
    await expect.poll(() => panel.getByRole('status').textContent(), { timeout: 8000 }).toBe("The job's champion is now cand_a: export again for its program.");
    expect(await panel.getByTestId('export-output').isVisible()).toBe(false);
    expect(problems).toEqual([]);
  });

  it('keeps keyboard focus on Export while it exports, and lets Tab go on to the download', async () => {
    const job = await createSimJob(s.t.url, s.t.key);
    await page.goto(`${s.url}/#/jobs/${job.job_id}`);
    const panel = page.locator('.export-panel');
    await page.locator('tr[data-candidate="baseline"]').waitFor();
    // An export that takes a moment, as a large program's does: the button was disabled meanwhile,
    // and a disabled button drops keyboard focus to the page body (Tab then started from the top).
    await page.route('**/export?**', async (route) => {
      await new Promise((resolve) => setTimeout(resolve, 300));
      await route.continue();
    });
    await panel.getByRole('button', { name: 'Export' }).focus();
    await page.keyboard.press('Enter');
    await expect.poll(() => panel.getByRole('status').textContent()).toBe('Exported as json.');
    await page.unroute('**/export?**');
    expect(await page.evaluate(() => document.activeElement?.getAttribute('data-action'))).toBe('export');
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => document.activeElement?.getAttribute('data-testid'))).toBe('export-download');
    expect(problems).toEqual([]);
  });

  it('keeps keyboard focus and a text selection in the proposals while rewards move a child\'s mean', async () => {
    const job = await createSimJob(s.t.url, s.t.key, { online_proposer_min_rollouts: 1000 });
    await addCandidates(s.t.server.store, job.job_id, ['cand_a']);
    await page.goto(`${s.url}/#/jobs/${job.job_id}`);
    const proposal = page.locator('li[data-proposal]').first();
    const line = proposal.locator('.child-head .muted');
    await expect.poll(() => line.textContent()).toMatch(/ · mean — \(n=0\) · active$/);
    const before = await line.textContent();
    await proposal.locator('summary').first().focus();
    await page.evaluate(() => {
      const diff = document.querySelector('li[data-proposal] .diff') as HTMLElement & { mark?: boolean };
      diff.mark = true;
      const range = document.createRange();
      range.selectNodeContents(diff);
      getSelection()?.removeAllRanges();
      getSelection()?.addRange(range);
    });
    // Rewards for cand_a: its mean and n in the proposal's line change at the next poll.
    for (let k = 0; k < 40 && (await line.textContent()) === before; k++) {
      const r = (await api(s.t.url, 'POST', `/api/v1/online/sessions/${job.system_id}/rollouts`, { key: s.t.key, body: {} })).body as { rollout_id: string };
      expect((await api(s.t.url, 'POST', `/api/v1/online/sessions/${job.system_id}/reward`, { key: s.t.key, body: { rollout_id: r.rollout_id, reward_info: { score: 1 } } })).status).toBe(200);
      await page.waitForTimeout(200);
    }
    await expect.poll(() => line.textContent(), { timeout: 8000 }).not.toBe(before);
    // Drawn again, the timeline had dropped focus to the page body and cleared the selection.
    expect(await page.evaluate(() => document.activeElement?.closest('li[data-proposal]') !== null)).toBe(true);
    expect(await page.evaluate(() => (document.querySelector('li[data-proposal] .diff') as HTMLElement & { mark?: boolean }).mark)).toBe(true);
    expect(await page.evaluate(() => getSelection()?.toString().length)).toBeGreaterThan(0);
    expect(problems).toEqual([]);
  });

  it('keeps keyboard focus and a text selection in the program panel while rewards move the mean', async () => {
    const body = pipelineJobBody({ online_proposer_min_rollouts: 1000 });
    const long = `Extract the entities.\n${'Name each one on a line of its own, with its kind. '.repeat(20)}`;
    body.policy_optimization.modules = [{ name: 'extract', template: long }, { ...PIPELINE_MODULES[1] }] as typeof body.policy_optimization.modules;
    const job = (await api(s.t.url, 'POST', '/api/policy-optimization/online/jobs', { key: s.t.key, body })).body as { job_id: string; system_id: string };
    const reward = async () => {
      const r = (await api(s.t.url, 'POST', `/api/v1/online/sessions/${job.system_id}/rollouts`, { key: s.t.key, body: {} })).body as { rollout_id: string };
      expect((await api(s.t.url, 'POST', `/api/v1/online/sessions/${job.system_id}/reward`, { key: s.t.key, body: { rollout_id: r.rollout_id, reward_info: { score: 1 } } })).status).toBe(200);
    };
    await reward();
    await page.goto(`${s.url}/#/jobs/${job.job_id}`);
    const panel = page.locator('.program-panel');
    const line = panel.locator('.program-of');
    await expect.poll(() => line.textContent()).toMatch(/\(n=1\)$/);
    await panel.getByRole('button', { name: /^Show all/ }).focus();
    await page.evaluate(() => {
      const text = document.querySelector('.program-panel .program-module[data-module="answer"] .instruction-text') as HTMLElement & { mark?: boolean };
      text.mark = true;
      const range = document.createRange();
      range.selectNodeContents(text);
      getSelection()?.removeAllRanges();
      getSelection()?.addRange(range);
    });
    await reward();
    await expect.poll(() => line.textContent(), { timeout: 8000 }).toMatch(/\(n=2\)$/);
    // Drawn again, the panel had dropped focus on "Show all" to the page body and cleared the selection.
    expect(await page.evaluate(() => document.activeElement?.textContent)).toMatch(/^Show all/);
    expect(await page.evaluate(() => (document.querySelector('.program-panel .program-module[data-module="answer"] .instruction-text') as HTMLElement & { mark?: boolean }).mark)).toBe(true);
    expect(await page.evaluate(() => getSelection()?.toString())).toBe(PIPELINE_MODULES[1].template);
    expect(problems).toEqual([]);
  });

  it('keeps a text selection in an expanded candidate\'s instruction while rewards move its mean', async () => {
    const job = await createSimJob(s.t.url, s.t.key, { online_proposer_min_rollouts: 1000 });
    await page.goto(`${s.url}/#/jobs/${job.job_id}`);
    const row = page.locator('tr[data-candidate="baseline"]');
    await row.locator('details.instruction summary').click();
    const rewards = row.locator('td.rewards-cell');
    const before = await rewards.textContent();
    await page.evaluate(() => {
      const text = document.querySelector('tr[data-candidate="baseline"] details.instruction .instruction-text') as HTMLElement;
      const range = document.createRange();
      range.selectNodeContents(text);
      getSelection()?.removeAllRanges();
      getSelection()?.addRange(range);
    });
    const selected = await page.evaluate(() => getSelection()?.toString());
    expect(selected?.length).toBeGreaterThan(20);
    await driveRollouts(s.t.url, s.t.key, job.system_id, 2, 1);
    await expect.poll(() => rewards.textContent(), { timeout: 8000 }).not.toBe(before);
    // Drawn again at each poll, the row cleared the selection (the only place a one-module job shows an instruction whole).
    expect(await page.evaluate(() => getSelection()?.toString())).toBe(selected);
    expect(await row.locator('details.instruction').evaluate((d) => (d as HTMLDetailsElement).open)).toBe(true);
    expect(problems).toEqual([]);
  });

  it('skips to the content of the page it is on, not to the jobs list', async () => {
    const job = await createSimJob(s.t.url, s.t.key);
    await page.goto(`${s.url}/#/jobs/${job.job_id}`);
    await page.locator('tr[data-candidate="baseline"]').waitFor();
    await page.locator('a.skip-link').focus();
    await page.keyboard.press('Enter');
    // Its "#main" was read as a route: the page became the jobs list.
    await page.waitForTimeout(300);
    expect(page.url()).toBe(`${s.url}/#/jobs/${job.job_id}`);
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('main');
    expect(await page.locator('tr[data-candidate="baseline"]').isVisible()).toBe(true);
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => document.activeElement?.closest('main') !== null)).toBe(true);
    expect(problems).toEqual([]);
  });

  it('says in the job header how many system texts of a program matched no module', async () => {
    const job = (await api(s.t.url, 'POST', '/api/policy-optimization/online/jobs', { key: s.t.key, body: pipelineJobBody({ online_proposer_min_rollouts: 1000 }) })).body as { job_id: string; system_id: string };
    await page.goto(`${s.url}/#/jobs/${job.job_id}`);
    const stat = page.locator('.job-header [data-stat="unmatched"]');
    await page.locator('.job-header [data-status="running"]').waitFor();
    // None yet: not said at all.
    expect(await stat.isVisible()).toBe(false);
    const r = (await api(s.t.url, 'POST', `/api/v1/online/sessions/${job.system_id}/rollouts`, { key: s.t.key, body: {} })).body as { chat_completions_url: string };
    const res = await fetch(r.chat_completions_url, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'any', messages: [{ role: 'system', content: 'You are a translator <img src=x>.' }, { role: 'user', content: 'Bonjour' }] }),
    });
    expect(res.headers.get('x-mipro-unmatched')).toBe('true');
    await expect.poll(() => api(s.t.url, 'GET', `/api/policy-optimization/online/jobs/${job.job_id}`, { key: s.t.key }).then((j) => j.body.unmatched_prompts)).toBe(1);
    // Only the event log said so before, among every rollout's and reward's events.
    await expect.poll(() => stat.textContent(), { timeout: 8000 }).toBe('1 system text matched no module: its calls passed through unchanged (module.unmatched in the event log)');
    expect(await stat.isVisible()).toBe(true);
    expect(problems).toEqual([]);
  });

  /**
   * A program whose app sent each stage to the bare proxy URL (the URL the page offers to copy) got
   * one rollout per call, and only the event log said so, among every rollout's and reward's events.
   */
  it('says in the job header when a program\'s calls came without a rollout id, and how to tie a run\'s calls together', async () => {
    const job = (await api(s.t.url, 'POST', '/api/policy-optimization/online/jobs', { key: s.t.key, body: pipelineJobBody({ online_proposer_min_rollouts: 1000 }) })).body as { job_id: string; system_id: string; proxy_url: string };
    await page.goto(`${s.url}/#/jobs/${job.job_id}`);
    const stat = page.locator('.job-header [data-stat="per-call"]');
    await page.locator('.job-header [data-status="running"]').waitFor();
    expect(await stat.isVisible()).toBe(false);
    for (const system of [PIPELINE_MODULES[0].template, 'Answer from this context:\nParis is in France.']) {
      const res = await fetch(`${job.proxy_url}/chat/completions`, {
        method: 'POST', headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'any', messages: [{ role: 'system', content: system }, { role: 'user', content: 'Where is Paris?' }] }),
      });
      expect(res.status).toBe(200);
    }
    await expect.poll(() => stat.textContent(), { timeout: 8000 }).toMatch(/^Calls of modules extract and answer came without a rollout id, each a rollout of its own: .*per-rollout URL/);
    expect(await stat.isVisible()).toBe(true);
    expect(problems).toEqual([]);
  });

  it('closes an open "Cancel this job?" when the page is left, without cancelling the job', async () => {
    const job = await createSimJob(s.t.url, s.t.key);
    await page.goto(`${s.url}/#/jobs/${job.job_id}`);
    await page.locator('.job-header [data-status="running"]').waitFor();
    await page.getByRole('button', { name: 'Cancel job…' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.waitFor();
    // Back to the list (the browser's Back, or a link): the modal stayed over the jobs list, its button still armed.
    await page.evaluate(() => { location.hash = '#/jobs'; });
    await page.locator('table.jobs tbody tr[data-job]').first().waitFor();
    expect(await dialog.count()).toBe(0);
    expect((await api(s.t.url, 'GET', `/api/policy-optimization/online/jobs/${job.job_id}`, { key: s.t.key })).body.status).toBe('running');
    expect(problems).toEqual([]);
  });

  it('takes an earlier export down when the next one fails', async () => {
    const job = await createSimJob(s.t.url, s.t.key);
    await page.goto(`${s.url}/#/jobs/${job.job_id}`);
    const panel = page.locator('.export-panel');
    await page.locator('tr[data-candidate="baseline"]').waitFor();
    await panel.getByRole('button', { name: 'Export' }).click();
    await expect.poll(() => panel.getByRole('status').textContent()).toBe('Exported as json.');
    await page.route('**/export?**', (route) => route.fulfill({ status: 503, contentType: 'application/json', body: JSON.stringify({ error: { code: 'unavailable', message: 'try later' } }) }));
    await panel.getByLabel('Format').selectOption('dspy');
    await panel.getByRole('button', { name: 'Export' }).click();
    await expect.poll(() => panel.getByRole('status').textContent()).toBe('Could not export: try later');
    await page.unroute('**/export?**');
    // The JSON export and its download stayed under "Could not export", read as the DSPy one.
    expect(await panel.getByTestId('export-output').isVisible()).toBe(false);
    expect(await panel.getByTestId('export-download').isVisible()).toBe(false);
    expect(problems.filter((p) => !p.includes('503'))).toEqual([]);
    problems.length = 0;
  });

  it('tells a new user a command that does create a key, on the sign-in page', async () => {
    const fresh = await browser.newPage();
    await fresh.goto(`${s.url}/`);
    const command = (await fresh.locator('#api-key-help code').textContent()) ?? '';
    await fresh.close();
    // `miprox keys create` alone stops at "required option '--name <name>' not specified".
    const args = command.replace(/^(npx )?miprox /, '').split(' ');
    const created = await runCli(args, { DATABASE_URL: join(mkdtempSync(join(tmpdir(), 'miprox-signin-')), 'k.db'), MIPROX_API_KEY: '' });
    expect(created.code, created.stderr).toBe(0);
    expect(created.stdout.trim()).toMatch(/^mpx_[0-9a-f]+$/);
  }, 120_000);

  it('wraps a long job name of one word inside the job header on a phone', async () => {
    const name = `support-intent-classifier-${'v2-'.repeat(2)}${'x'.repeat(80)}`;
    const job = (await api(s.t.url, 'POST', '/api/policy-optimization/online/jobs', { key: s.t.key, body: { ...simJobBody(), name } })).body as { job_id: string };
    await page.setViewportSize({ width: 390, height: 844 });
    try {
      // How far an element's content runs past the right edge of its box (0 when it wraps).
      const overflow = (sel: string) => page.locator(sel).evaluate((e) => e.scrollWidth - e.clientWidth);
      await page.goto(`${s.url}/#/jobs/${job.job_id}`);
      await expect.poll(() => page.getByTestId('job-name').textContent()).toBe(name);
      expect(await overflow('.job-header [data-testid="job-name"]')).toBe(0);
      expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    } finally {
      await page.setViewportSize({ width: 1440, height: 900 });
    }
  });

  it('previews the filtered module\'s text in every row of a program\'s leaderboard, the baseline\'s too', async () => {
    const job = (await api(s.t.url, 'POST', '/api/policy-optimization/online/jobs', { key: s.t.key, body: pipelineJobBody() })).body as { job_id: string };
    await addModuleCandidates(s.t.server.store, job.job_id, 'answer', { cand_ans: 'Answer only from this context:\n{context}' });
    await page.goto(`${s.url}/#/jobs/${job.job_id}`);
    await page.locator('tr[data-candidate="cand_ans"]').waitFor();
    const previewOf = (id: string) => page.locator(`tr[data-candidate="${id}"] .when-closed`).textContent();
    expect(await previewOf('baseline')).toBe(PIPELINE_MODULES[0].template);
    await page.getByLabel('Changed module').selectOption('answer');
    // Beside the answer candidates the baseline read "Extract the entities.", its first module.
    await expect.poll(() => previewOf('baseline')).toBe('Answer from this context: {context}');
    expect(await previewOf('cand_ans')).toBe('Answer only from this context: {context}');
    expect(problems).toEqual([]);
  });

  it('shows first the program an ended job serves, not its champion\'s', async () => {
    const job = (await api(s.t.url, 'POST', '/api/policy-optimization/online/jobs', { key: s.t.key, body: pipelineJobBody() })).body as { job_id: string };
    await addModuleCandidates(s.t.server.store, job.job_id, 'answer', { cand_served: 'Answer briefly from:\n{context}' });
    const promoted = (await api(s.t.url, 'POST', `/api/policy-optimization/online/jobs/${job.job_id}/promote`, { key: s.t.key, body: { candidate_id: 'cand_served' } })).body as { served_candidate_id: string; best_candidate_id: string };
    expect(promoted.served_candidate_id).toBe('cand_served');
    expect(promoted.best_candidate_id).not.toBe('cand_served');
    await page.goto(`${s.url}/#/jobs/${job.job_id}`);
    const panel = page.locator('.program-panel');
    await panel.waitFor();
    await expect.poll(() => panel.locator('.program-of code').first().textContent()).toBe('cand_served');
    expect(await panel.getByLabel('Candidate').locator('option:checked').textContent()).toBe('Served (cand_served)');
    expect(await panel.locator('.program-module[data-module="answer"] .instruction-text').textContent()).toBe('Answer briefly from:\n{context}');
    expect(problems).toEqual([]);
  });

  it('moves a proposal\'s age on while the page stays open on a quiet job', async () => {
    const job = await createSimJob(s.t.url, s.t.key, { online_proposer_min_rollouts: 1000 });
    await addCandidates(s.t.server.store, job.job_id, ['cand_quiet']);
    const clocked = await browser.newPage();
    try {
      // The page's clock is the test's: ten minutes pass in a call.
      await clocked.clock.install();
      await signIn(clocked, s.url, s.t.key);
      await clocked.goto(`${s.url}/#/jobs/${job.job_id}`);
      const age = clocked.locator('li.proposal .proposal-meta time');
      await expect.poll(() => age.textContent()).toMatch(/^(just now|\d+ s ago)$/);
      await clocked.clock.fastForward('10:00');
      // Nothing about the job changed, so the list is not redrawn: it read "just now" for as long as the page was open.
      await expect.poll(() => age.textContent()).toBe('10 min ago');
    } finally {
      await clocked.close();
    }
  });

  it('moves focus to the job\'s title when a job opens from the list, and to "Job not found" for an unknown id', async () => {
    const job = await createSimJob(s.t.url, s.t.key);
    await page.goto(`${s.url}/#/jobs`);
    await page.locator(`tr[data-job="${job.job_id}"] a`).click();
    await page.locator('.job-header [data-status]').waitFor();
    // Focus went to the hidden "Job not found" heading, which cannot take it: it fell to the page body.
    const focusedId = () => page.evaluate(() => document.activeElement?.id ?? null);
    await expect.poll(focusedId).toBe('job-title');
    await page.getByRole('link', { name: '← All jobs' }).click();
    await page.locator('table.jobs tbody tr[data-job]').first().waitFor();
    await page.evaluate(() => { location.hash = '#/jobs/pl_unknown'; });
    await expect.poll(() => page.locator('#not-found-title').isVisible()).toBe(true);
    await expect.poll(focusedId).toBe('not-found-title');
    // The unknown job's 404 is the one console error this test makes (the browser logs it).
    expect(problems.filter((p) => !p.includes('status of 404'))).toEqual([]);
    problems.length = 0;
  });

  it('names the champion in the champion chart\'s legend', async () => {
    // Only the baseline serves (no proposals, no other candidate): it is the champion at every point.
    const job = await createSimJob(s.t.url, s.t.key, { online_proposer_min_rollouts: 1000 });
    await driveRollouts(s.t.url, s.t.key, job.system_id, 6, 2, () => 1);
    await page.goto(`${s.url}/#/jobs/${job.job_id}`);
    const legend = page.locator('#champion-chart .u-legend .u-series .u-value');
    // The line is one candidate after another; its legend gave the mean and not whose it was.
    await expect.poll(async () => (await legend.allTextContents())[1]).toBe('1.00 · baseline');
    expect(problems).toEqual([]);
  });

  it('writes a 0-100 job\'s scores with one decimal, in the header, the leaderboard and the jobs list', async () => {
    const job = await createSimJob(s.t.url, s.t.key, { reward_range: [0, 100], online_proposer_min_rollouts: 1000 });
    await driveRollouts(s.t.url, s.t.key, job.system_id, 8, 2, (seed) => 60 + (seed % 3) * 10);
    const view = await waitForJob<{ reward_count: number; best_score: number | null; best_score_ci: [number, number] | null; candidates: Array<{ candidate_id: string; avg_reward: number; ci: [number, number] }> }>(
      s.t.url, s.t.key, job.job_id, (j) => j.reward_count === 8);
    const one = (x: number) => x.toFixed(1);
    const base = view.candidates.find((c) => c.candidate_id === 'baseline')!;
    await page.goto(`${s.url}/#/jobs/${job.job_id}`);
    const row = page.locator('tr[data-candidate="baseline"]');
    // "72.500 [45.123, 99.877]" claimed a precision no 0-100 score has.
    await expect.poll(() => row.locator('.mean').textContent()).toBe(one(base.avg_reward));
    expect(await row.locator('.ci').textContent()).toBe(`[${one(base.ci[0])}, ${one(base.ci[1])}]`);
    expect(view.best_score).not.toBeNull();
    const best = `${one(view.best_score!)} [${one(view.best_score_ci![0])}, ${one(view.best_score_ci![1])}]`;
    expect(await page.locator('.job-header [data-stat="best"]').textContent()).toMatch(new RegExp(`^${best.replace(/[[\]().]/g, '\\$&')} · `));
    await page.goto(`${s.url}/#/jobs`);
    await expect.poll(() => page.locator(`tr[data-job="${job.job_id}"] td`).nth(4).textContent()).toMatch(new RegExp(`^${best.replace(/[[\]().]/g, '\\$&')} · `));
    expect(problems).toEqual([]);
  });

  it('moves focus from "Load more" to the first job it loaded when no more are left', async () => {
    const listed = async () => ((await api(s.t.url, 'GET', '/api/policy-optimization/online/jobs?limit=1000', { key: s.t.key })).body.items as unknown[]).length;
    for (let n = await listed(); n < 53; n++) await createSimJob(s.t.url, s.t.key);
    const all = (await api(s.t.url, 'GET', '/api/policy-optimization/online/jobs?limit=1000', { key: s.t.key })).body.items as Array<{ job_id: string }>;
    await page.goto(`${s.url}/#/jobs`);
    await page.getByLabel('Status').selectOption('');
    const rows = page.locator('table.jobs tbody tr[data-job]');
    await expect.poll(() => rows.count()).toBe(50);
    const more = page.getByRole('button', { name: 'Load more' });
    await more.focus();
    await page.keyboard.press('Enter');
    await expect.poll(() => rows.count()).toBe(all.length);
    expect(await more.isHidden()).toBe(true);
    // The button hid under the keyboard user's focus: focus fell to the page body.
    await expect.poll(() => page.evaluate(() => (document.activeElement?.closest('tr[data-job]') as HTMLElement | null)?.dataset.job ?? null)).toBe(all[50]?.job_id);
    expect(problems).toEqual([]);
  });

  it('keeps a job\'s age on one line beside a long name in the jobs list', async () => {
    const name = 'Customer-support intent classification for the European retail banking app, version 2, with extended labels and fallback handling';
    const job = (await api(s.t.url, 'POST', '/api/policy-optimization/online/jobs', { key: s.t.key, body: { ...simJobBody(), name } })).body as { job_id: string };
    const clocked = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    try {
      // The page's clock is the test's: the job is eleven minutes old in a call.
      await clocked.clock.install();
      await signIn(clocked, s.url, s.t.key);
      await clocked.clock.fastForward('11:00');
      const age = clocked.locator(`tr[data-job="${job.job_id}"] td:last-child time`);
      await expect.poll(() => age.textContent()).toBe('11 min ago');
      // One line box per line of text: "11 min" and "ago" on two lines made two.
      expect(await age.evaluate((e) => e.getClientRects().length)).toBe(1);
    } finally {
      await clocked.close();
    }
  });
});
