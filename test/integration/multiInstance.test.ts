import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/config.js';
import { type RunningServer, startServer } from '../../src/main.js';
import { dropPostgresSchema } from '../../src/store/postgres/postgresStore.js';
import { PG_URL, uniqueSchema } from '../helpers/postgres.js';
import { api, simJobBody } from '../helpers/server.js';

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
    await new Promise((r) => setTimeout(r, 500)); // let in-flight proposals finish
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
});
