import { existsSync } from 'node:fs';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Demo } from '../../src/optimizer/core/demos.js';
import { addCandidates, addModuleCandidates, api } from '../helpers/server.js';
import { CHROMIUM, screenshotPath } from './browser.js';
import { startDashboardTestServer, type DashboardTestServer } from './dashboardServer.js';
import { closeBrowserAndServer, openJobPage } from './dashboardSession.js';
import { newProposalId } from '../../src/shared/ids.js';
import { createSimJob, driveRollouts, task } from './simTraffic.js';

/**
 * Issue 17's view in Chromium: a candidate with demos gets a "N demos" chip in its leaderboard row,
 * and expanding the row lists them module by module, turn by turn, with the rollout each came from,
 * exactly as the candidates API reports them (text shown as text, never as markup).
 */
const DEMOS: Demo[] = [
  { input: [{ role: 'user', content: 'What is my balance?' }], output: 'Label: balance', rolloutId: 'r-demo-1' },
  {
    input: [{ role: 'user', content: 'Card lost <b>today</b>' }, { role: 'assistant', content: 'Which card?' }, { role: 'user', content: 'The debit one' }],
    output: 'Label: lost_card',
    rolloutId: 'r-demo-2',
  },
];

describe.skipIf(!existsSync(CHROMIUM))('dashboard: a candidate\'s demos (chip and expanded list)', () => {
  let s: DashboardTestServer;
  let browser: Browser;
  let page: Page;
  let jobId: string;
  let systemId: string;
  let problems: string[] = [];

  beforeAll(async () => {
    s = await startDashboardTestServer();
    const job = await createSimJob(s.url, s.t.key, { online_proposer_min_rollouts: 1000 });
    jobId = job.job_id;
    systemId = job.system_id;
    await addCandidates(s.t.server.store, jobId, ['cand_plain']);
    await addModuleCandidates(s.t.server.store, jobId, 'main', { cand_demos: 'Label the banking question.' }, { cand_demos: DEMOS });
    await driveRollouts(s.url, s.t.key, job.system_id, 4, 2);

    ({ browser, page, problems } = await openJobPage(s, jobId));
    await page.locator('table.leaderboard tbody tr[data-candidate="cand_demos"]').waitFor();
  });

  afterAll(() => closeBrowserAndServer(browser, s));

  const row = (id: string) => page.locator(`table.leaderboard tbody tr[data-candidate="${id}"]`);

  it('marks only the candidate with demos with a chip counting them; the list stays folded', async () => {
    expect(await row('cand_demos').locator('.candidate-id .tag-demos').textContent()).toBe('2 demos');
    expect(await row('cand_plain').locator('.tag-demos').count()).toBe(0);
    expect(await row('baseline').locator('.tag-demos').count()).toBe(0);
    expect(await row('cand_demos').getByLabel('Demos of cand_demos').isVisible()).toBe(false);
  });

  it('expands the row to the demos, turn by turn, as the candidates API reports them', async () => {
    await row('cand_demos').locator('details.instruction summary').click();
    const list = row('cand_demos').getByLabel('Demos of cand_demos');
    await expect.poll(() => list.isVisible()).toBe(true);
    const section = list.locator('section[data-demos-module="main"]');
    expect((await section.locator('.module-head').textContent())?.replace(/\s+/g, ' ')).toBe('2 demos for module main');

    const view = (await api(s.url, 'GET', `/api/systems/${systemId}/candidates?limit=50`, { key: s.t.key })).body.items
      .find((c: { candidate_id: string }) => c.candidate_id === 'cand_demos');
    expect(view.demos.main.map((d: { rollout_id: string }) => d.rollout_id)).toEqual(['r-demo-1', 'r-demo-2']);
    const items = section.locator('li.demo');
    expect(await items.count()).toBe(2);
    for (const [i, d] of (view.demos.main as { input: { role: string; content: string }[]; output: string; rollout_id: string }[]).entries()) {
      const item = items.nth(i);
      expect(await item.getAttribute('data-rollout')).toBe(d.rollout_id);
      const turns = await item.locator('.demo-turn').allTextContents();
      expect(turns).toEqual([...d.input.map((t) => `${t.role}: ${t.content}`), `assistant: ${d.output}`]);
      expect(await item.locator('.demo-source').textContent()).toBe(`from rollout ${d.rollout_id}`);
    }
    // Demo text is shown as typed: markup in a user's input never becomes elements.
    expect(await items.nth(1).locator('b').count()).toBe(0);
    await row('cand_demos').screenshot({ path: screenshotPath('30-candidate-demos') });
  });

  it('shows a templated demo\'s variables before its turns, as the model is shown them', async () => {
    const withVariables: Demo = { input: [{ role: 'user', content: 'Where is Paris?' }], output: 'In France.', rolloutId: 'r-demo-3', variables: { context: 'Paris is in <i>France</i>.', topic: 'geo' } };
    await addModuleCandidates(s.t.server.store, jobId, 'main', { cand_vars: 'Answer from the context.' }, { cand_vars: [withVariables] });
    await expect.poll(() => row('cand_vars').count(), { timeout: 10_000 }).toBe(1);
    await row('cand_vars').locator('details.instruction summary').click();
    const item = row('cand_vars').getByLabel('Demos of cand_vars').locator('li.demo');
    await expect.poll(() => item.isVisible()).toBe(true);
    expect(await item.locator('.demo-turn').allTextContents()).toEqual(['{context}: Paris is in <i>France</i>.', '{topic}: geo', 'user: Where is Paris?', 'assistant: In France.']);
    expect(await item.locator('i').count()).toBe(0);
    // A demo without variables shows none.
    expect(await row('cand_demos').locator('.demo-variable').count()).toBe(0);
    await row('cand_vars').locator('details.instruction summary').click();
  });

  it('shows a demo-set proposal as the demos it drew, with no model call, not as a proposer prompt left unanswered', async () => {
    const note = 'demo-set proposal for module main: 1 new set(s) from a pool of 2 demo(s); no model call';
    const store = s.t.server.store;
    const lease = await store.startProposal({ jobId, id: newProposalId(), parentId: 'baseline', module: 'main', tip: 'demos', prompt: [{ role: 'system', content: note }], leaseUntil: new Date(Date.now() + 60_000).toISOString(), now: new Date().toISOString() });
    if (!lease) throw new Error('no lease');
    // A demo-set child keeps its parent's text: only its demos differ.
    await store.finishProposal({
      jobId, id: lease.id, status: 'succeeded', response: null, error: null, events: [],
      candidates: [{ id: 'cand_demoset', parentId: 'baseline', instruction: task.baselineInstruction, module: 'main', instructions: { main: task.baselineInstruction }, tip: null, proposalId: lease.id, demos: { main: [DEMOS[0]!] } }],
    });
    const item = page.locator(`li[data-proposal="${lease.id}"]`);
    await expect.poll(() => item.count(), { timeout: 10_000 }).toBe(1);
    expect(await item.locator('.proposer-note').textContent()).toBe(`D${note.slice(1)}.`);
    // "Proposer prompt and answer" held the note as a system prompt, then "(no answer)".
    expect(await item.locator('.proposer-io').count()).toBe(0);
    expect(await item.getByText('(no answer)').count()).toBe(0);
    const child = item.locator('.proposal-child');
    expect(await child.locator('.child-head').textContent()).toContain('same instruction · 1 demo');
    // The unchanged text is not repeated as a diff with nothing marked; the demos are listed.
    expect(await child.locator('.diff').count()).toBe(0);
    expect(await child.locator('li.demo').count()).toBe(1);
    await item.screenshot({ path: screenshotPath('31-demo-set-proposal') });
    expect(problems).toEqual([]);
  });

  it('keeps the row open through the next poll, and folds it again on a second click', async () => {
    const list = row('cand_demos').getByLabel('Demos of cand_demos');
    // Bring new data and wait until the poll has drawn it (the header's reward count; a row whose
    // candidate got no reward is left as it was).
    const rewards = page.locator('.job-header [data-stat="rewards"]');
    const before = Number((await rewards.textContent())?.replace(/,/g, ''));
    await driveRollouts(s.url, s.t.key, systemId, 2, 1);
    await expect.poll(() => rewards.textContent(), { timeout: 10_000 }).toBe(String(before + 2));
    expect(await list.isVisible()).toBe(true);
    await row('cand_demos').locator('details.instruction summary').click();
    await expect.poll(() => list.isVisible()).toBe(false);
    expect(problems).toEqual([]);
  });
});
