import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BASELINE_ID, newProposalId } from '../../src/shared/ids.js';
import { type TestDb, type TestServer, api, simJobBody, startTestServer } from '../helpers/server.js';
import { waitFor } from '../helpers/waitFor.js';

const SESSIONS = '/api/v1/online/sessions';

interface ProposalItem { proposal_id: string; status: string; error: string | null; finished_at: string | null; candidate_ids: string[] }
interface EventItem { seq: number; event_type: string; data: Record<string, unknown> }

/**
 * A proposal runs under a lease (Store.startProposal). The instance holding it may die (SIGKILL,
 * a lost machine) and never finish it. "Another instance" is played here by the store: it takes the
 * lease as a runner does and then never finishes. Clients must not see such a proposal as running
 * forever: once its lease ran out it is failed, naming the lost lease, with the failure event, and a
 * job that ends closes whatever proposal it still had. A lease still running is left alone.
 */
describe.each<TestDb>(['sqlite', 'postgres'])('proposals of an instance that died (%s)', (db) => {
  let t: TestServer;
  beforeAll(async () => {
    // The sweep runs every 50 ms here, so its effect (and its restraint) shows within a test.
    t = await startTestServer({ db, start: { proposalSweepIntervalMs: 50 } });
  });
  afterAll(async () => {
    await t?.close();
  });

  /** A job that never proposes by itself: every proposal in it is the "other instance's". */
  async function newSession() {
    const res = await api(t.url, 'POST', SESSIONS, { key: t.key, body: { config_body: simJobBody({ online_proposer_min_rollouts: 100_000 }, 'Answer.') } });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    return res.body as { session_id: string; job_id: string };
  }
  /** Takes the job's proposal lease until `leaseMs` from now, as the runner of another instance would. */
  async function leaseHeldElsewhere(jobId: string, leaseMs: number) {
    const now = Date.now();
    const lease = await t.server.store.startProposal({
      jobId, id: newProposalId(), parentId: BASELINE_ID, module: 'main', tip: 'none', prompt: [],
      leaseUntil: new Date(now + leaseMs).toISOString(), now: new Date(now).toISOString(),
    });
    expect(lease).not.toBeNull();
    return lease!;
  }
  const proposals = async (sid: string) => (await api(t.url, 'GET', `${SESSIONS}/${sid}/proposals`, { key: t.key })).body.items as ProposalItem[];
  const events = async (sid: string) => (await api(t.url, 'GET', `${SESSIONS}/${sid}/events?limit=1000`, { key: t.key })).body.events as EventItem[];
  const failedEvents = async (sid: string) => (await events(sid)).filter((e) => e.event_type === 'mipro.proposal.failed');

  it('fails a proposal whose lease ran out, with mipro.proposal.failed, without anyone asking for it', async () => {
    const s = await newSession();
    const lease = await leaseHeldElsewhere(s.job_id, 300);
    // Only the events are read while waiting (not the proposals list): the sweep alone must close it.
    await waitFor(async () => (await failedEvents(s.session_id)).length > 0);
    const [failed] = await failedEvents(s.session_id);
    expect(failed?.data).toMatchObject({ proposal_id: lease.id, seq: lease.seq, error: expect.stringMatching(/^lease expired at .*: the instance running it stopped/) });
    expect(await proposals(s.session_id)).toMatchObject([{ proposal_id: lease.id, status: 'failed', error: failed?.data.error, finished_at: expect.any(String) }]);
    // The instance wakes up late and finishes: the proposal stays failed and adds nothing.
    const late = await t.server.store.finishProposal({
      jobId: s.job_id, id: lease.id, status: 'succeeded', response: null, error: null, events: [],
      candidates: [{ id: 'cand_late', parentId: BASELINE_ID, instruction: 'Late.', module: 'main', instructions: { main: 'Late.' }, tip: null, proposalId: lease.id }],
    });
    expect(late).toEqual([]);
    expect((await proposals(s.session_id))[0]?.status).toBe('failed');
    expect((await api(t.url, 'GET', `${SESSIONS}/${s.session_id}`, { key: t.key })).body.candidates).toHaveLength(1);
    expect(await failedEvents(s.session_id)).toHaveLength(1);
  });

  it('shows an expired lease as failed to the first client that looks, once, however many look at the same time', async () => {
    const s = await newSession();
    const lease = await leaseHeldElsewhere(s.job_id, -1); // already expired: whoever looks first closes it
    const seen = await Promise.all(Array.from({ length: 6 }, () => proposals(s.session_id)));
    for (const items of seen) expect(items).toMatchObject([{ proposal_id: lease.id, status: 'failed', error: expect.stringMatching(/^lease expired/) }]);
    await new Promise((r) => setTimeout(r, 150)); // sweeps run meanwhile
    expect(await failedEvents(s.session_id)).toHaveLength(1);
  });

  it('leaves a proposal alone while its lease runs', async () => {
    const s = await newSession();
    const lease = await leaseHeldElsewhere(s.job_id, 60_000);
    await new Promise((r) => setTimeout(r, 300)); // several sweeps
    expect(await proposals(s.session_id)).toMatchObject([{ proposal_id: lease.id, status: 'running', error: null, finished_at: null }]);
    expect(await failedEvents(s.session_id)).toEqual([]);
    // Its owner finishes it as usual.
    await t.server.store.finishProposal({ jobId: s.job_id, id: lease.id, status: 'failed', response: null, error: 'done', events: [], candidates: [] });
  });

  it('closes the running proposal when the job ends, so an ended job shows no work in progress', async () => {
    const s = await newSession();
    // A live lease: its instance may be alive or not; once the job is cancelled nothing it does counts.
    const lease = await leaseHeldElsewhere(s.job_id, 600_000);
    expect((await api(t.url, 'POST', `${SESSIONS}/${s.session_id}/cancel`, { key: t.key })).status).toBe(200);
    expect(await proposals(s.session_id)).toMatchObject([{ proposal_id: lease.id, status: 'failed', error: 'the job cancelled while the proposal ran: no candidates added' }]);
    const all = await events(s.session_id);
    const end = all.findIndex((e) => e.event_type === 'mipro.job.status' && e.data.status === 'cancelled');
    const failed = all.findIndex((e) => e.event_type === 'mipro.proposal.failed');
    expect(all[failed]?.data).toMatchObject({ proposal_id: lease.id, seq: lease.seq });
    expect(failed).toBe(end + 1); // written with the end, in the same transaction
    // The owner's late answer adds nothing to the ended job.
    const late = await t.server.store.finishProposal({
      jobId: s.job_id, id: lease.id, status: 'succeeded', response: null, error: null, events: [],
      candidates: [{ id: 'cand_late', parentId: BASELINE_ID, instruction: 'Late.', module: 'main', instructions: { main: 'Late.' }, tip: null, proposalId: lease.id }],
    });
    expect(late).toEqual([]);
    expect((await api(t.url, 'GET', `${SESSIONS}/${s.session_id}`, { key: t.key })).body.candidates).toHaveLength(1);
  });

  it('never lets a proposal that finishes after a warm start filled the pool exceed online_proposer_max_candidates', async () => {
    // docs/deploy.md: never more candidates than online_proposer_max_candidates, inserted under the
    // job's row lock. A runner counts the room it has from the candidates it read after the proposer
    // answered; a warm start (on any instance) may take the last place before it writes.
    const res = await api(t.url, 'POST', SESSIONS, { key: t.key, body: { config_body: simJobBody({ online_proposer_min_rollouts: 100_000, online_proposer_max_candidates: 2 }, 'Answer.') } });
    const s = res.body as { session_id: string; job_id: string };
    const lease = await leaseHeldElsewhere(s.job_id, 60_000);
    expect((await api(t.url, 'POST', `/api/systems/${s.session_id}/candidates`, { key: t.key, body: { instruction: 'Answer briefly.' } })).status).toBe(200);
    // The runner read one candidate (room for one) before the warm start committed.
    const late = await t.server.store.finishProposal({
      jobId: s.job_id, id: lease.id, status: 'succeeded', response: 'x', error: null, maxCandidates: 2,
      events: [{ eventType: 'mipro.proposal.created', message: 'created', data: { proposal_id: lease.id, candidate_ids: ['cand_over'] } }],
      candidates: [{ id: 'cand_over', parentId: BASELINE_ID, instruction: 'Over.', module: 'main', instructions: { main: 'Over.' }, tip: null, proposalId: lease.id }],
    });
    expect(late).toEqual([]);
    const view = (await api(t.url, 'GET', `${SESSIONS}/${s.session_id}`, { key: t.key })).body as { candidate_count: number; candidates: unknown[] };
    expect(view.candidates).toHaveLength(2);
    expect(await proposals(s.session_id)).toMatchObject([{ proposal_id: lease.id, status: 'failed', candidate_ids: [], error: expect.stringMatching(/online_proposer_max_candidates \(2\)/) }]);
    const all = await events(s.session_id);
    expect(all.filter((e) => e.event_type === 'mipro.proposal.created')).toEqual([]);
    expect(all.filter((e) => e.event_type === 'mipro.proposal.failed').map((e) => e.data.proposal_id)).toEqual([lease.id]);
  });
});
