import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/config.js';
import { type RunningServer, startServer } from '../../src/main.js';
import { dropPostgresSchema } from '../../src/store/postgres/postgresStore.js';
import pg from 'pg';
import { PG_URL, uniqueSchema } from '../helpers/postgres.js';
import { addCandidates, api, simJobBody } from '../helpers/server.js';

/**
 * Two miprox instances on one PostgreSQL database, as behind a load balancer: the database is the
 * source of truth, so rewards are counted once whichever instance takes them, and each proposal is
 * made by exactly one instance.
 */
describe('two instances sharing one PostgreSQL database', () => {
  const schema = uniqueSchema('multi');
  const key = 'mpx_shared_key_for_two_instances_0001';
  let a: RunningServer;
  let b: RunningServer;

  beforeAll(async () => {
    const config = loadConfig({ PORT: '0', DATABASE_URL: PG_URL, DATABASE_SCHEMA: schema, MIPROX_API_KEY: key, LOG_LEVEL: 'silent' });
    // Started together: both run migrations and seed the same key at once.
    [a, b] = await Promise.all([startServer(config, { logger: pino({ level: process.env.MIPROX_TEST_LOG ?? 'silent' }) }), startServer(config, { logger: pino({ level: process.env.MIPROX_TEST_LOG ?? 'silent' }) })]);
  });
  afterAll(async () => {
    await Promise.all([a?.close(), b?.close()]);
    await dropPostgresSchema(PG_URL, schema);
  });

  it('counts every reward once and lets only one instance propose at a time', async () => {
    const created = await api(a.url, 'POST', '/api/v1/online/sessions', {
      key, body: { config_body: simJobBody({ online_proposer_min_rollouts: 8, online_rollouts_per_candidate: 4, online_proposer_max_candidates: 8 }, 'Classify the query.') },
    });
    expect(created.status).toBe(200);
    const sid = created.body.session_id as string;
    const servers = [a, b];
    // Four clients, each alternating instances for the proxy call and the reward.
    await Promise.all([0, 1, 2, 3].map(async (client) => {
      for (let i = 0; i < 30; i++) {
        const via = servers[(client + i) % 2]!;
        const other = servers[(client + i + 1) % 2]!;
        const id = `c${client}-${i}`;
        const call = await api(`${via.url}/api/mipro/v1/${sid}`, 'POST', `/${id}/chat/completions`, { body: { messages: [{ role: 'user', content: 'my card was stolen' }] } });
        expect(call.status).toBe(200);
        const reward = await api(other.url, 'POST', `/api/v1/online/sessions/${sid}/reward`, { key, body: { rollout_id: id, reward_info: { score: i % 3 === 0 ? 1 : 0 } } });
        expect(reward.status).toBe(200);
        // The instance that took the reward may not have served the call: the rollout record tells it the candidate.
        expect(reward.body.candidate_id).toBe(call.headers.get('x-mipro-candidate-id'));
      }
    }));
    await Promise.all([a.settled(), b.settled()]); // the proposals the last rewards started have finished
    const status = await api(b.url, 'GET', `/api/v1/online/sessions/${sid}`, { key });
    expect(status.body.reward_count).toBe(120);
    expect(status.body.rollout_count).toBe(120);
    expect(status.body.candidates.reduce((n: number, c: { reward_count: number }) => n + c.reward_count, 0)).toBe(120);
    const proposals = (await api(a.url, 'GET', `/api/v1/online/sessions/${sid}/proposals`, { key })).body.items as Array<{ proposal_id: string; seq: number; status: string; candidate_ids: string[] }>;
    expect(proposals.length).toBeGreaterThan(0);
    // Each proposal slot was taken by exactly one instance: sequence numbers 1..N, one proposal each
    // (a second instance trying at the same time is turned away by the database's running-proposal lease).
    expect(proposals.map((p) => p.seq).sort((x, y) => x - y)).toEqual(proposals.map((_, i) => i + 1));
    expect(proposals.length).toBe(status.body.proposal_seq);
    const proposed = proposals.filter((p) => p.status === 'succeeded').flatMap((p) => p.candidate_ids);
    expect(status.body.candidates.map((c: { candidate_id: string }) => c.candidate_id).sort()).toEqual(['baseline', ...proposed].sort());
    // Whichever instance proposed, the pool stays within online_proposer_max_candidates, without repeats.
    const instructions = status.body.candidates.map((c: { instruction: string }) => c.instruction);
    expect(instructions.length).toBeLessThanOrEqual(8);
    expect(new Set(instructions).size).toBe(instructions.length);
    const events = (await api(a.url, 'GET', `/api/v1/online/sessions/${sid}/events?limit=1000`, { key })).body.events as Array<{ seq: number }>;
    expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1)); // one gapless sequence
  });
  it('issues each bootstrap seed once and each (candidate, val seed) once across instances, with counters equal to the rows from the start', async () => {
    const bootstrap = [0, 1, 2, 3, 4, 5, 6, 7];
    const valSeeds = Array.from({ length: 12 }, (_, i) => 100 + i);
    const created = await api(a.url, 'POST', '/api/v1/online/sessions', {
      key, body: { config_body: simJobBody({ bootstrap_train_seeds: bootstrap, val_seeds: valSeeds, online_pool: [20, 21, 22], online_proposer_min_rollouts: 1000, online_rollouts_per_candidate: 4 }, 'Classify the query.') },
    });
    const sid = created.body.session_id as string;
    const jobId = created.body.job_id as string;
    const servers = [a, b];
    // From the job's first millisecond: scheduler calls and proxy calls on both instances at once.
    const scheduled = await Promise.all(Array.from({ length: 24 }, (_, i) => api(servers[i % 2]!.url, 'POST', `/api/v1/online/sessions/${sid}/rollouts`, { key })));
    const proxied = await Promise.all(Array.from({ length: 24 }, (_, i) => api(`${servers[i % 2]!.url}/api/mipro/v1/${sid}`, 'POST', `/p${i}/chat/completions`, { body: { messages: [{ role: 'user', content: 'hi' }] } })));
    expect(scheduled.every((r) => r.status === 200), JSON.stringify(scheduled.map((r) => r.body))).toBe(true);
    expect(proxied.every((r) => r.status === 200)).toBe(true);
    const bootSeeds = scheduled.filter((r) => r.body.split === 'bootstrap').map((r) => r.body.seed as number);
    expect(bootSeeds.sort((x, y) => x - y)).toEqual(bootstrap);

    // Val work: a champion other than the control, then both instances ask for confirmation at once.
    await addCandidates(a.store, jobId, ['cand_val']);
    for (let i = 0; i < 12; i++) {
      for (const [candidate, score] of [['cand_val', 1], ['baseline', 0]] as const) {
        expect((await api(servers[i % 2]!.url, 'POST', `/api/v1/online/sessions/${sid}/reward`, { key, body: { candidate_id: candidate, reward_info: { score } } })).status).toBe(200);
      }
    }
    await new Promise((r) => setTimeout(r, 1100)); // both caches see the champion (cacheTtlMs is 1 s)
    const val = await Promise.all(Array.from({ length: 20 }, (_, i) => api(servers[i % 2]!.url, 'POST', `/api/v1/online/sessions/${sid}/rollouts`, { key, body: { split: 'val' } })));
    expect(val.every((r) => r.status === 200), JSON.stringify(val.map((r) => r.body))).toBe(true);
    const pairs = val.map((r) => `${r.body.candidate_id}:${r.body.seed}`);
    expect(new Set(pairs).size).toBe(pairs.length);

    // The database agrees: no repeated pair or bootstrap seed, and every counter equals its rows.
    const db = new pg.Client({ connectionString: PG_URL });
    await db.connect();
    try {
      await db.query(`set search_path to "${schema}"`);
      const repeats = await db.query(`select candidate_id, seed, split, count(*) from rollouts where job_id = $1 and split in ('bootstrap', 'val')
        group by candidate_id, seed, split having count(*) > 1`, [jobId]);
      expect(repeats.rows).toEqual([]);
      const counts = await db.query(`select c.id, c.dispatches, (select count(*) from rollouts r where r.job_id = c.job_id and r.candidate_id = c.id) as rows
        from candidates c where c.job_id = $1`, [jobId]);
      for (const c of counts.rows) expect(Number(c.dispatches), c.id).toBe(Number(c.rows));
      const job = await db.query('select rollout_count, (select count(*) from rollouts where job_id = $1) as rows from jobs where id = $1', [jobId]);
      expect(Number(job.rows[0].rollout_count)).toBe(Number(job.rows[0].rows));
      expect(Number(job.rows[0].rows)).toBe(24 + 24 + 20); // rewards sent by candidate_id make no rollout
    } finally {
      await db.end();
    }
  });

  it('serves a new rollout id called on both instances at once with one candidate, the one stored', async () => {
    // R = 1 over four candidates: after the nursery every new rollout is a fresh draw on each
    // instance, so two instances choosing apart shows at once. Each id is claimed by both together.
    const created = await api(a.url, 'POST', '/api/v1/online/sessions', {
      key, body: { config_body: simJobBody({ online_rollouts_per_candidate: 1, online_proposer_min_rollouts: 1000 }, 'Classify the query.') },
    });
    const sid = created.body.session_id as string;
    const jobId = created.body.job_id as string;
    await addCandidates(a.store, jobId, ['cand_A', 'cand_B', 'cand_C']);
    await new Promise((r) => setTimeout(r, 1100)); // both caches see the new candidates
    for (let i = 0; i < 30; i++) {
      const id = `both-${i}`;
      const calls = await Promise.all([a, b].map((s) => api(`${s.url}/api/mipro/v1/${sid}`, 'POST', `/${id}/chat/completions`, { body: { messages: [{ role: 'user', content: 'hi' }] } })));
      expect(calls.map((c) => c.status)).toEqual([200, 200]);
      const served = new Set(calls.map((c) => c.headers.get('x-mipro-candidate-id')));
      expect(served.size, `rollout ${id} was served by ${[...served].join(', ')}`).toBe(1);
      expect((await a.store.getRollout(jobId, id))?.candidateId).toBe([...served][0]);
    }
    const job = await a.store.getJob(jobId);
    expect(job?.rolloutCount).toBe(30);
    const candidates = await a.store.listCandidates(jobId);
    expect(candidates.reduce((n, c) => n + c.dispatches, 0)).toBe(30);
  });

  it('relays and records only answers of the stored candidate when a JSON call went upstream before its claim committed', async () => {
    // R = 1 over four candidates: b's speculative choice for an id a stored differs from the stored
    // candidate about three times in four. Its answer must be dropped and the call served again.
    const created = await api(a.url, 'POST', '/api/v1/online/sessions', {
      key, body: { config_body: simJobBody({ online_rollouts_per_candidate: 1, online_proposer_min_rollouts: 1000 }, 'Classify the query.') },
    });
    const sid = created.body.session_id as string;
    const jobId = created.body.job_id as string;
    const others = ['cand_A', 'cand_B', 'cand_C'];
    await addCandidates(a.store, jobId, others);
    await new Promise((r) => setTimeout(r, 1100)); // both caches see the new candidates
    for (let i = 0; i < 12; i++) {
      const id = `stored-${i}`;
      const stored = others[i % 3]!;
      await a.store.insertRollout({ jobId, id, candidateId: stored, seed: null, split: 'online', correlationId: null, inputMessages: null });
      const call = await api(`${b.url}/api/mipro/v1/${sid}`, 'POST', `/${id}/chat/completions`, { body: { messages: [{ role: 'user', content: 'hi' }] } });
      expect(call.status).toBe(200);
      expect(call.headers.get('x-mipro-candidate-id')).toBe(stored);
    }
    await b.settled(); // call records are written after the answer
    for (let i = 0; i < 12; i++) expect((await a.store.getRollout(jobId, `stored-${i}`))?.callCount, `stored-${i}`).toBe(1);
    const candidates = await a.store.listCandidates(jobId);
    expect(candidates.reduce((n, c) => n + c.dispatches, 0)).toBe(12);
  });
});

