import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/config.js';
import { type RunningServer, startServer } from '../../src/main.js';
import type { Clock } from '../../src/shared/clock.js';
import { BASELINE_ID, newProposalId } from '../../src/shared/ids.js';
import { dropPostgresSchema } from '../../src/store/postgres/postgresStore.js';
import { PG_URL, uniqueSchema } from '../helpers/postgres.js';
import { api, simJobBody } from '../helpers/server.js';
import { waitFor } from '../helpers/waitFor.js';

const SESSIONS = '/api/v1/online/sessions';
const HOUR = 3_600_000;

/**
 * docs/deploy.md: clocks of the instances of a cluster may disagree. A proposal lease is written by
 * one instance and judged expired by another: on the instances' own clocks, an instance an hour
 * ahead found every live lease of the others expired at once (its 10 s sweep failed them as
 * abandoned, and its next proposal started beside them), and an instance two minutes behind wrote
 * leases the others found expired. Here one instance keeps time, one runs an hour ahead and one two
 * minutes behind (their injected clocks), on one PostgreSQL schema, each sweeping every 50 ms.
 */
describe('proposal leases between instances whose clocks disagree (PostgreSQL)', () => {
  const schema = uniqueSchema('skew');
  const key = 'mpx_skew_key_for_two_instances_00001';
  const exact: Clock = { now: () => Date.now() };
  const ahead: Clock = { now: () => Date.now() + HOUR };
  const behind: Clock = { now: () => Date.now() - 120_000 };
  let good: RunningServer;
  let fast: RunningServer;
  let slow: RunningServer;

  beforeAll(async () => {
    const config = loadConfig({ PORT: '0', HOST: '127.0.0.1', DATABASE_URL: PG_URL, DATABASE_SCHEMA: schema, MIPROX_API_KEY: key, LOG_LEVEL: 'silent' });
    const logger = pino({ level: process.env.MIPROX_TEST_LOG ?? 'silent' });
    good = await startServer(config, { logger, clock: exact, proposalSweepIntervalMs: 50 });
    fast = await startServer(config, { logger, clock: ahead, proposalSweepIntervalMs: 50 });
    slow = await startServer(config, { logger, clock: behind, proposalSweepIntervalMs: 50 });
  });
  afterAll(async () => {
    await Promise.all([good?.close(), fast?.close(), slow?.close()]);
    await dropPostgresSchema(PG_URL, schema);
  });

  async function newJob(): Promise<{ session_id: string; job_id: string }> {
    const res = await api(good.url, 'POST', SESSIONS, { key, body: { config_body: simJobBody({ online_proposer_min_rollouts: 100_000 }, 'Answer.') } });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    return res.body;
  }
  /** Takes the job's lease on `server` for `leaseMs`, stamped with its own clock as its runner does. */
  function takeLease(server: RunningServer, clock: Clock, jobId: string, leaseMs: number) {
    const now = clock.now();
    return server.store.startProposal({
      jobId, id: newProposalId(), parentId: BASELINE_ID, module: 'main', tip: 'none', prompt: [],
      leaseUntil: new Date(now + leaseMs).toISOString(), now: new Date(now).toISOString(),
    });
  }
  const proposals = async (sid: string) => (await api(good.url, 'GET', `${SESSIONS}/${sid}/proposals`, { key })).body.items as { status: string; error: string | null }[];

  it('leaves a live lease alone on an instance an hour ahead, and refuses it a second proposal', async () => {
    const s = await newJob();
    expect(await takeLease(good, exact, s.job_id, 60_000)).not.toBeNull();
    await new Promise((r) => setTimeout(r, 400)); // several sweeps on every instance
    expect(await proposals(s.session_id)).toMatchObject([{ status: 'running', error: null }]);
    // The instance ahead asks for the lease: the live one holds, so there is no second proposal.
    expect(await takeLease(fast, ahead, s.job_id, 60_000)).toBeNull();
    expect(await proposals(s.session_id)).toMatchObject([{ status: 'running', error: null }]);
  });

  it('leaves a live lease of an instance two minutes behind alone on the others', async () => {
    const s = await newJob();
    expect(await takeLease(slow, behind, s.job_id, 60_000)).not.toBeNull();
    await new Promise((r) => setTimeout(r, 400));
    expect(await proposals(s.session_id)).toMatchObject([{ status: 'running', error: null }]);
    expect(await takeLease(good, exact, s.job_id, 60_000)).toBeNull();
    expect(await proposals(s.session_id)).toMatchObject([{ status: 'running', error: null }]);
  });

  it('still releases a lease that ran out, whichever instance wrote it', async () => {
    for (const [server, clock] of [[slow, behind], [fast, ahead], [good, exact]] as const) {
      const s = await newJob();
      expect(await takeLease(server, clock, s.job_id, 300)).not.toBeNull();
      await waitFor(async () => (await proposals(s.session_id))[0]?.status === 'failed');
      expect((await proposals(s.session_id))[0]?.error).toMatch(/^lease expired at /);
    }
  });
});
