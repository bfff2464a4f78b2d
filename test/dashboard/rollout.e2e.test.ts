import { existsSync } from 'node:fs';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Demo } from '../../src/optimizer/core/demos.js';
import { type FakeUpstream, startFakeUpstream, systemPromptOf } from '../fakes/fakeUpstream.js';
import { addModuleCandidates, api, seedJobBody } from '../helpers/server.js';
import { CHROMIUM, screenshotPath } from './browser.js';
import { startDashboardTestServer, type DashboardTestServer } from './dashboardServer.js';
import { closeBrowserAndServer, openSignedInPage } from './dashboardSession.js';
import { createSimJob, driveRollouts, task } from './simTraffic.js';

/**
 * The rollout page in Chromium: a real 3-module rollout made through the proxy (a fake OpenAI
 * upstream answering per module) shows every call's module, the system text the upstream received,
 * the app's messages and the model's answer, long texts folded; a script in an answer stays text;
 * an unknown rollout says "not found"; the job page's links reach it.
 */
const MODULES = [
  { name: 'extract', template: 'Extract the entities from the question.' },
  { name: 'retrieve', template: 'Write a search query for: {topic}' },
  { name: 'answer', template: 'Answer from this context:\n{context}' },
];
const XSS = '<script>window.__pwned = 1</script><img src=x onerror="window.__pwned = 2">Paris.';
const LONG_CONTEXT = Array.from({ length: 40 }, (_, i) => `Line ${i + 1}: the Eiffel tower is 330 m tall and stands in Paris.`).join('\n');
/** What the fake model answers each module (by its system text). */
const answerFor = (system: string): string =>
  system.startsWith('Extract') ? 'Entities: Eiffel tower, Paris' : system.startsWith('Write a search') ? 'eiffel tower height' : XSS;

describe.skipIf(!existsSync(CHROMIUM))('dashboard: the rollout page', () => {
  let s: DashboardTestServer;
  let fake: FakeUpstream;
  let browser: Browser;
  let page: Page;
  let problems: string[] = [];
  let jobId: string;
  let systemId: string;
  /** What the upstream received for each call of rollout r-three, in order. */
  let servedSystems: string[] = [];

  const chat = (proxyUrl: string, rolloutId: string, system: string, user: string) => api(`${proxyUrl}/${rolloutId}`, 'POST', '/chat/completions', {
    body: { model: 'x', messages: [{ role: 'system', content: system }, { role: 'user', content: user }] },
  });

  beforeAll(async () => {
    fake = await startFakeUpstream({ reply: (req) => answerFor(systemPromptOf(req)) });
    s = await startDashboardTestServer({ cacheTtlMs: 20 }, { OPENAI_API_KEY: 'sk-test', OPENAI_BASE_URL: fake.url });
    const body = seedJobBody({ mipro: { online_proposer_min_rollouts: 1000 } });
    Object.assign(body.policy_optimization, { modules: MODULES });
    const created = await api(s.url, 'POST', '/api/policy-optimization/online/jobs', { key: s.t.key, body });
    expect(created.status, JSON.stringify(created.body)).toBe(200);
    ({ job_id: jobId, system_id: systemId } = created.body as { job_id: string; system_id: string });
    const proxyUrl = (created.body as { proxy_url: string }).proxy_url;
    // A candidate whose demo came from r-three: the leaderboard links the demo to its rollout.
    const demo: Demo = { input: [{ role: 'user', content: 'How tall is it?' }], output: 'It is 330 m tall.', rolloutId: 'r-three' };
    await addModuleCandidates(s.t.server.store, jobId, 'extract', { cand_extract: 'List every entity, one per line.' }, { cand_extract: [demo] });
    // An imported demo's id names no rollout of this job: no link.
    const imported: Demo = { input: [{ role: 'user', content: 'Tallest tower?' }], output: 'tallest tower', rolloutId: 'import:0123abcd' };
    await addModuleCandidates(s.t.server.store, jobId, 'retrieve', { cand_retrieve: 'Search terms for: {topic}' }, { cand_retrieve: [imported] });
    await new Promise((r) => setTimeout(r, 50)); // the engine's 20 ms cache: the next call sees the candidate

    for (const [system, user] of [
      [MODULES[0]!.template, 'How tall is the Eiffel tower?'],
      ['Write a search query for: the Eiffel tower', 'How tall is the Eiffel tower?'],
      [`Answer from this context:\n${LONG_CONTEXT}`, 'How tall is the Eiffel tower?'],
    ] as const) {
      const res = await chat(proxyUrl, 'r-three', system, user);
      expect(res.status).toBe(200);
      servedSystems.push(systemPromptOf(fake.requests.at(-1)!));
    }
    expect((await chat(proxyUrl, 'r-loose', 'A text of no module.', 'hello')).headers.get('x-mipro-unmatched')).toBe('true');
    const reward = await api(s.url, 'POST', `/api/v1/online/sessions/${systemId}/reward`, { key: s.t.key, body: { rollout_id: 'r-three', reward_info: { score: 0.75 } } });
    expect(reward.status, JSON.stringify(reward.body)).toBe(200);
    // A rollout a reward made (no call went through the proxy).
    const bare = await api(s.url, 'POST', `/api/v1/online/sessions/${systemId}/reward`, { key: s.t.key, body: { rollout_id: 'r-empty', candidate_id: 'baseline', reward_info: { score: 1 } } });
    expect(bare.status, JSON.stringify(bare.body)).toBe(200);
    // The call records are written just after each answer.
    await s.t.server.settled();

    ({ browser, page, problems } = await openSignedInPage(s));
  });

  afterAll(async () => {
    await closeBrowserAndServer(browser, s);
    await fake?.close();
  });

  const calls = () => page.locator('li.rollout-call');
  const openRollout = async (rolloutId: string) => {
    await page.goto(`${s.url}/#/jobs/${jobId}/rollouts/${rolloutId}`);
    await page.locator('.rollout-body:not([hidden]), .not-found:not([hidden])').waitFor();
  };

  it('shows each call of a 3-module rollout: its module, the system text the upstream got, the app\'s message and the answer', async () => {
    await openRollout('r-three');
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe('Rollout r-three');
    const rollout = (await api(s.url, 'GET', `/api/systems/${systemId}/rollouts/r-three`, { key: s.t.key })).body as { candidate_id: string };
    const candidate = page.locator('dd[data-stat="candidate"] a');
    expect(await candidate.textContent()).toBe(rollout.candidate_id);
    expect(await candidate.getAttribute('href')).toBe(`#/jobs/${jobId}/candidates/${rollout.candidate_id}`);
    expect(await page.locator('dd[data-stat="reward"]').textContent()).toBe('0.750 of 0–1');
    expect(await page.locator('dd[data-stat="calls"]').textContent()).toBe('3');

    expect(await calls().count()).toBe(3);
    expect(await calls().evaluateAll((els) => els.map((e) => e.getAttribute('data-module')))).toEqual(['extract', 'retrieve', 'answer']);
    expect(await calls().locator('h3').allTextContents()).toEqual(['Call 1 of 3 · extract', 'Call 2 of 3 · retrieve', 'Call 3 of 3 · answer']);
    const outputs = ['Entities: Eiffel tower, Paris', 'eiffel tower height', XSS];
    for (let i = 0; i < 3; i++) {
      const call = calls().nth(i);
      const system = call.locator('.call-system .folded-text');
      if (i < 2) expect(await system.textContent()).toBe(servedSystems[i]);
      expect(await call.locator('.call-input .call-message').count()).toBe(1);
      expect(await call.locator('.call-input .call-message .msg-role').textContent()).toBe('user');
      expect(await call.locator('.call-input .call-message .folded-text').textContent()).toBe('How tall is the Eiffel tower?');
      expect(await call.locator('.call-output .folded-text').textContent()).toBe(outputs[i]);
    }
    // A templated module's captured value is listed with its name.
    expect(await calls().nth(1).locator('.call-vars dt').allTextContents()).toEqual(['{topic}']);
    expect(await calls().nth(1).locator('.call-vars dd').textContent()).toBe('the Eiffel tower');
    await page.screenshot({ path: screenshotPath('40-rollout'), fullPage: true });
    expect(problems).toEqual([]);
  });

  it('folds a long text to a preview that opens and folds again from the keyboard', async () => {
    const system = calls().nth(2).locator('.call-system');
    const text = system.locator('.folded-text');
    const toggle = system.getByRole('button', { name: /Show all/ });
    const served = servedSystems[2]!;
    expect(served.length).toBeGreaterThan(2000);
    const preview = (await text.textContent())!;
    expect(preview.endsWith('…')).toBe(true);
    expect(served.startsWith(preview.slice(0, -1))).toBe(true);
    expect(preview.length).toBeLessThan(700);
    expect(await toggle.textContent()).toBe(`Show all (${served.length.toLocaleString('en-US')} characters) of the system prompt of call 3`);
    expect(await toggle.getAttribute('aria-expanded')).toBe('false');
    expect(await toggle.getAttribute('aria-controls')).toBe(await text.getAttribute('id'));
    await toggle.focus();
    await page.keyboard.press('Enter');
    await expect.poll(() => text.textContent()).toBe(served);
    expect(await system.locator('button.fold-toggle').getAttribute('aria-expanded')).toBe('true');
    await page.keyboard.press('Space');
    await expect.poll(() => text.textContent()).toBe(preview);
    // Focus stays on the button through both.
    expect(await page.evaluate(() => document.activeElement?.classList.contains('fold-toggle'))).toBe(true);
  });

  it('renders a script tag in a model\'s answer as text, never as markup', async () => {
    const output = calls().nth(2).locator('.call-output');
    expect(await output.locator('.folded-text').textContent()).toBe(XSS);
    expect(await page.locator('.rollout-page script, .rollout-page img').count()).toBe(0);
    expect(await page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned)).toBeUndefined();
  });

  it('shows a call of no module as such, and a rollout with no calls', async () => {
    await openRollout('r-loose');
    expect(await calls().count()).toBe(1);
    expect(await calls().first().getAttribute('data-module')).toBe('');
    expect(await calls().first().locator('h3').textContent()).toBe('Call 1 of 1 · no module');
    expect(await calls().first().locator('.call-system').textContent()).toContain('Not known: a call of no module');
    // Why it matched none is what a user opening this call wants: the page says where that is.
    expect(await calls().first().locator('.call-system').textContent()).toContain("with the declared module it nearly follows and where it leaves that template, is in the job's module.unmatched events (the job page's event log, miprox jobs show)");
    expect(await calls().first().locator('.call-output .folded-text').textContent()).toBe(XSS);
    expect(await page.locator('dd[data-stat="reward"]').textContent()).toBe('no reward yet');
    // A reward that comes later shows on Refresh, which keeps keyboard focus.
    const late = await api(s.url, 'POST', `/api/v1/online/sessions/${systemId}/reward`, { key: s.t.key, body: { rollout_id: 'r-loose', reward_info: { score: 0.25 } } });
    expect(late.status, JSON.stringify(late.body)).toBe(200);
    await page.getByRole('button', { name: 'Refresh' }).focus();
    await page.keyboard.press('Enter');
    await expect.poll(() => page.locator('dd[data-stat="reward"]').textContent()).toBe('0.250 of 0–1');
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe('Refresh');
    expect(await page.getByRole('status').textContent()).toMatch(/^Read at \d/);

    await openRollout('r-empty');
    expect(await calls().count()).toBe(0);
    expect(await page.locator('.rollout-calls-body .empty').textContent()).toMatch(/^This rollout made no call through the proxy/);
    expect(await page.locator('dd[data-stat="reward"]').textContent()).toBe('1.000 of 0–1');
  });

  it('says "not found" for an unknown rollout or job, with the heading focused', async () => {
    for (const [job, rollout] of [[jobId, 'no-such-rollout'], ['no-such-job', 'r-three']] as const) {
      await page.goto(`${s.url}/#/jobs/${job}/rollouts/${rollout}`);
      const heading = page.getByRole('heading', { name: 'Rollout not found' });
      await heading.waitFor();
      expect(await page.locator('.not-found').textContent()).toContain(`has no rollout ${rollout}`);
      expect(await page.locator('.rollout-head').isHidden()).toBe(true);
      // Navigation focused the page's heading; the one now saying what happened takes it over.
      await expect.poll(() => page.evaluate(() => document.activeElement?.id)).toBe('rollout-not-found-title');
    }
    expect(problems.filter((p) => !/status of 404/.test(p))).toEqual([]);
    problems.length = 0;
  });

  it('is reached from the job page: the event log\'s reward and a demo\'s source link to it', async () => {
    await page.goto(`${s.url}/#/jobs/${jobId}`);
    const eventLink = page.locator('.event-log li[data-type="mipro.reward.received"] a', { hasText: 'rollout r-three' });
    await eventLink.waitFor();
    await eventLink.click();
    await page.locator('li.rollout-call').first().waitFor();
    expect(page.url()).toBe(`${s.url}/#/jobs/${jobId}/rollouts/r-three`);
    expect(await page.evaluate(() => document.activeElement?.tagName)).toBe('H1');

    await page.locator('.breadcrumb a').click();
    const row = page.locator('table.leaderboard tbody tr[data-candidate="cand_extract"]');
    await row.locator('details.instruction summary').click();
    const demoLink = row.locator('.demo-source a');
    expect(await demoLink.textContent()).toBe('r-three');
    const importedRow = page.locator('table.leaderboard tbody tr[data-candidate="cand_retrieve"]');
    await importedRow.locator('details.instruction summary').click();
    expect(await importedRow.locator('.demo-source').textContent()).toBe('imported (from no rollout of this job)');
    expect(await importedRow.locator('.demo-source a').count()).toBe(0);
    await demoLink.click();
    await expect.poll(() => calls().count()).toBe(3);
    expect(page.url()).toBe(`${s.url}/#/jobs/${jobId}/rollouts/r-three`);
    expect(problems).toEqual([]);
  });

  it('links the rollout\'s candidate to that candidate\'s row on the job page, scrolled to, marked and focused', async () => {
    // A rollout of the third candidate (a reward naming it makes its record): its row is not the top of the page.
    const made = await api(s.url, 'POST', `/api/v1/online/sessions/${systemId}/reward`, { key: s.t.key, body: { rollout_id: 'r-cand', candidate_id: 'cand_retrieve', reward_info: { score: 0.5 } } });
    expect(made.status, JSON.stringify(made.body)).toBe(200);
    await openRollout('r-cand');
    const link = page.locator('dd[data-stat="candidate"] a');
    expect(await link.textContent()).toBe('cand_retrieve');
    await link.click();
    const row = page.locator('table.leaderboard tbody tr[data-candidate="cand_retrieve"]');
    await row.waitFor();
    expect(page.url()).toBe(`${s.url}/#/jobs/${jobId}/candidates/cand_retrieve`);
    await expect.poll(() => row.evaluate((el) => el.contains(document.activeElement) && document.activeElement?.tagName)).toBe('SUMMARY');
    expect([await row.getAttribute('class'), await row.getAttribute('aria-current'), await row.getAttribute('id')]).toEqual(['is-target', 'true', 'candidate-cand_retrieve']);
    // Only that row is marked, and it is in view (the program panel and charts above it fill the first screen).
    expect(await page.locator('table.leaderboard tr[aria-current]').count()).toBe(1);
    const box = (await row.boundingBox())!;
    expect(box.y).toBeGreaterThanOrEqual(0);
    expect(box.y + box.height).toBeLessThanOrEqual(900);
    await page.screenshot({ path: screenshotPath('41-rollout-candidate') });

    // A candidate the job does not have (a mistyped link): the page says so.
    await page.goto(`${s.url}/#/jobs/${jobId}/candidates/no-such-candidate`);
    await expect.poll(() => page.getByText('This job has no candidate no-such-candidate.').count()).toBe(1);
    expect(await page.locator('table.leaderboard tr[aria-current]').count()).toBe(0);
    expect(problems).toEqual([]);
  });

  it('shows the demo turns the candidate\'s demos put before the app\'s message, as the upstream got them', async () => {
    const body = seedJobBody({ mipro: { online_proposer_min_rollouts: 1000 } });
    Object.assign(body.policy_optimization, { modules: MODULES });
    const other = (await api(s.url, 'POST', '/api/policy-optimization/online/jobs', { key: s.t.key, body })).body as { job_id: string; proxy_url: string };
    const demo: Demo = { input: [{ role: 'user', content: 'Which <b>tower</b>?' }], output: 'The Eiffel tower.', rolloutId: 'r-src' };
    await addModuleCandidates(s.t.server.store, other.job_id, 'extract', { cand_demo: 'List the entities.' }, { cand_demo: [demo] });
    await new Promise((r) => setTimeout(r, 50));
    // Promoted: every call is the candidate's.
    expect((await api(s.url, 'POST', `/api/policy-optimization/online/jobs/${other.job_id}/promote`, { key: s.t.key, body: { candidate_id: 'cand_demo' } })).status).toBe(200);
    await new Promise((r) => setTimeout(r, 50));
    // The app's own context as a second system message: the upstream gets it before the demo turns, and so does the page.
    const withContext = await api(`${other.proxy_url}/r-demo`, 'POST', '/chat/completions', {
      body: { model: 'x', messages: [{ role: 'system', content: MODULES[0]!.template }, { role: 'system', content: 'Passages: <i>the tower</i> is 330 m.' }, { role: 'user', content: 'Where is it?' }] },
    });
    expect(withContext.headers.get('x-mipro-candidate-id')).toBe('cand_demo');
    const sent = (fake.requests.at(-1)!.body as { messages: { role: string; content: string }[] }).messages;
    expect(sent.map((m) => m.role)).toEqual(['system', 'system', 'user', 'assistant', 'user']);
    await chat(other.proxy_url, 'r-demo', 'Write a search query for: towers', 'Where is it?');
    await s.t.server.settled();
    await page.goto(`${s.url}/#/jobs/${other.job_id}/rollouts/r-demo`);
    await calls().first().waitFor();
    expect(await calls().first().locator('.call-demos h4').textContent()).toBe('Demos inserted by the candidate (2 turns)');
    const shown = (section: string) => calls().first().locator(`${section} .call-message`)
      .evaluateAll((els) => els.map((e) => [e.querySelector('.msg-role')?.textContent, e.querySelector('.folded-text')?.textContent]));
    expect(await shown('.call-demos')).toEqual(sent.slice(2, -1).map((m) => [m.role, m.content]));
    // Every message the upstream got, in its order: the system prompt, the app's context, the demo turns, the app's question.
    const sections = await calls().first().locator('.call-part').evaluateAll((els) => els.map((e) => e.className.replace('call-part ', '')));
    expect(sections).toEqual(['call-system', 'call-context', 'call-demos', 'call-input', 'call-output']);
    expect([...await shown('.call-context'), ...await shown('.call-demos'), ...await shown('.call-input')]).toEqual(sent.slice(1).map((m) => [m.role, m.content]));
    expect(await calls().first().locator('.call-demos b, .call-context i').count()).toBe(0);
    expect(await calls().first().locator('.call-system .folded-text').textContent()).toBe(sent[0]!.content);
    // A module the candidate has no demos for: no such section.
    expect(await calls().nth(1).getAttribute('data-module')).toBe('retrieve');
    expect(await calls().nth(1).locator('.call-demos').count()).toBe(0);
    expect(problems).toEqual([]);
  });

  it('shows a one-module job\'s rollout, and fits a phone\'s width', async () => {
    // Rewards of 0 to 10: the page says the reward in that range, as the leaderboard's decimals do.
    const sim = await createSimJob(s.url, s.t.key, { online_proposer_min_rollouts: 1000, reward_range: [0, 10] });
    await driveRollouts(s.url, s.t.key, sim.system_id, 1, 1, () => 7);
    await s.t.server.settled();
    const rewards = await api(s.url, 'GET', `/api/v1/online/sessions/${sim.system_id}/rewards`, { key: s.t.key });
    const rolloutId = (rewards.body as { items: { rollout_id: string }[] }).items[0]!.rollout_id;
    await page.setViewportSize({ width: 390, height: 844 });
    await page.goto(`${s.url}/#/jobs/${sim.job_id}/rollouts/${rolloutId}`);
    await calls().first().waitFor();
    expect(await calls().count()).toBe(1);
    expect(await calls().first().getAttribute('data-module')).toBe('main');
    expect(await calls().first().locator('.call-system .folded-text').textContent()).toBe(task.baselineInstruction);
    expect(await page.locator('dd[data-stat="reward"]').textContent()).toBe('7.00 of 0–10');
    await page.goto(`${s.url}/#/jobs/${jobId}/rollouts/r-three`);
    await calls().first().waitFor();
    expect(await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth)).toBeLessThanOrEqual(0);
    await page.screenshot({ path: screenshotPath('41-rollout-phone'), fullPage: true });
    await page.setViewportSize({ width: 1440, height: 900 });
    expect(problems).toEqual([]);
  });

  it('says when a call\'s answer was tool calls (a tool loop\'s step), not text the model wrote', async () => {
    fake.setBehavior({ reply: '', toolCalls: [{ id: 'call_1', name: 'search', arguments: '{"q":"eiffel"}' }] });
    try {
      const res = await api(`${s.url}/api/mipro/v1/${systemId}/r-tool`, 'POST', '/chat/completions', {
        body: { model: 'x', messages: [{ role: 'system', content: MODULES[0]!.template }, { role: 'user', content: 'How tall?' }],
          tools: [{ type: 'function', function: { name: 'search', parameters: { type: 'object', properties: { q: { type: 'string' } } } } }] },
      });
      expect(res.status, JSON.stringify(res.body)).toBe(200);
    } finally {
      fake.setBehavior({ reply: (req) => answerFor(systemPromptOf(req)), toolCalls: [] });
    }
    await s.t.server.settled();
    await openRollout('r-tool');
    expect(await calls().first().locator('.call-output .call-tool-calls').textContent()).toBe('1 tool call, each shown as name(arguments):');
    expect(await calls().first().locator('.call-output .folded-text').textContent()).toBe('search({"q":"eiffel"})');
    await openRollout('r-three');
    expect(await page.locator('.call-tool-calls').count()).toBe(0);
    expect(problems).toEqual([]);
  });
});
