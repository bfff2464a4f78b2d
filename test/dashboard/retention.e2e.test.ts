import { existsSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { newProposalId } from '../../src/shared/ids.js';
import { api } from '../helpers/server.js';
import { DAY_MS, useRetentionServer } from '../helpers/retentionServer.js';
import { CHROMIUM, openWatchedPage, signIn, type WatchedPage } from './browser.js';
import { createSimJob } from './simTraffic.js';

/**
 * RETENTION_DAYS on an open job page: the retention pass clears old proposals' prompts and answers
 * without a new proposal, so nothing in the job view changes. The page must still show it.
 */
describe.skipIf(!existsSync(CHROMIUM))('dashboard: a proposal cleared by retention on an open page', () => {
  const srv = useRetentionServer('sqlite');
  let w: WatchedPage | undefined;
  afterAll(async () => w?.browser.close());

  it('shows the proposal as cleared within the recheck period, with no new proposal', async () => {
    const job = await createSimJob(srv.t.url, srv.t.key, { online_proposer_min_rollouts: 1000 });
    const store = srv.t.server.store;
    const now = new Date(srv.clock.now()).toISOString();
    const lease = await store.startProposal({ jobId: job.job_id, id: newProposalId(), parentId: 'baseline', module: 'main', tip: 'none', prompt: [{ role: 'user', content: 'Call input: lost card' }], leaseUntil: new Date(srv.clock.now() + 60_000).toISOString(), now });
    if (!lease) throw new Error('no lease');
    await store.finishProposal({ jobId: job.job_id, id: lease.id, status: 'succeeded', response: 'Answer about cards only.', error: null, events: [],
      candidates: [{ id: 'cand_x', parentId: 'baseline', instruction: 'Answer about cards only.', module: 'main', instructions: { main: 'Answer about cards only.' }, tip: 'none', proposalId: lease.id }] });

    w = await openWatchedPage();
    const { page } = w;
    // The page's clock is the test's: five minutes pass in a call.
    await page.clock.install();
    await signIn(page, srv.t.url, srv.t.key);
    await page.goto(`${srv.t.url}/#/jobs/${job.job_id}`);
    const answer = page.locator(`li[data-proposal="${lease.id}"] .proposer-answer`);
    await expect.poll(() => answer.textContent()).toBe('Answer about cards only.');

    srv.setClockOffset(2 * DAY_MS);
    const proposals = async () => (await api(srv.t.url, 'GET', `/api/v1/online/sessions/${job.system_id}/proposals`, { key: srv.t.key })).body.items as Array<{ response: string | null; prompt: unknown[] }>;
    await expect.poll(async () => (await proposals())[0]?.response).toBeNull();
    const view = (await api(srv.t.url, 'GET', `/api/policy-optimization/online/jobs/${job.job_id}`, { key: srv.t.key })).body as { proposal_seq: number };
    expect(view.proposal_seq).toBe(1);

    await page.clock.fastForward('05:05');
    await expect.poll(() => answer.textContent(), { timeout: 10_000 }).toMatch(/^\(cleared: .*RETENTION_DAYS\)$/);
    expect(await page.locator(`li[data-proposal="${lease.id}"] .proposer-message`).count()).toBe(0);
    expect(w.problems).toEqual([]);
  });
});
