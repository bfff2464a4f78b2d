import pg from 'pg';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/config.js';
import { type RunningServer, startServer } from '../../src/main.js';
import { dropPostgresSchema } from '../../src/store/postgres/postgresStore.js';
import { type FakeUpstream, startFakeUpstream } from '../fakes/fakeUpstream.js';
import { PG_URL, uniqueSchema } from '../helpers/postgres.js';
import { api, seedJobBody } from '../helpers/server.js';
import { waitFor } from '../helpers/waitFor.js';

const KEY = 'mpx_program_cluster_key_000000000001';
const SESSIONS = '/api/v1/online/sessions';
const MODULES = [
  { name: 'extract', template: 'Extract the entities from the question.' },
  { name: 'route', template: 'Route the question about {topic} to a team.' },
  { name: 'answer', template: 'Answer from this context:\n{context}' },
];
/** The app's system text of module `m` in rollout `rid`, and the values its template captures. */
const appText = (m: number, rid: string) => [MODULES[0]!.template, `Route the question about topic-${rid} to a team.`, `Answer from this context:\nctx-${rid}`][m]!;
const values = (m: number, rid: string): Record<string, string> => [{}, { topic: `topic-${rid}` }, { context: `ctx-${rid}` }][m]!;
const render = (template: string, v: Record<string, string>) => template.replace(/\{([A-Za-z_][\w.-]*)\}/g, (whole, name: string) => v[name] ?? whole);

interface Rollout { id: string; startedAt: number; served: string[] }

/**
 * A three-module program on three instances of one PostgreSQL schema, every rollout's calls spread
 * over the instances (in turn, or all at once), while the simulated proposer adds candidates, the job
 * is paused and resumed, and finally promoted, each on another instance. Checked from outside: each
 * rollout keeps one candidate for all its calls, the upstream gets each module's text of that
 * candidate, the rollout records hold every call once, every reward counts once whichever instance
 * (or instances) took it, proposals never overlap and try every module once first. The instances are
 * in-process servers (the balancer adds nothing these checks need: test/integration/cluster.test.ts
 * runs real processes behind HAProxy).
 */
describe('a program on three instances (PostgreSQL)', () => {
  const schema = uniqueSchema('progcluster');
  let fake: FakeUpstream;
  let servers: RunningServer[] = [];
  beforeAll(async () => {
    fake = await startFakeUpstream({ reply: 'ok', delayMs: 10 });
    const config = loadConfig({
      PORT: '0', HOST: '127.0.0.1', DATABASE_URL: PG_URL, DATABASE_SCHEMA: schema, MIPROX_API_KEY: KEY, LOG_LEVEL: 'silent',
      OPENAI_API_KEY: 'sk-test', OPENAI_BASE_URL: fake.url,
    });
    servers = await Promise.all([0, 1, 2].map(() => startServer(config, { logger: pino({ level: process.env.MIPROX_TEST_LOG ?? 'silent' }) })));
  }, 60_000);
  afterAll(async () => {
    await Promise.all(servers.map((s) => s.close()));
    await fake?.close();
    await dropPostgresSchema(PG_URL, schema);
  });

  it('keeps each rollout on one candidate, every call and reward once, one proposal at a time', async () => {
    const body = seedJobBody({
      proposerProvider: 'sim', proposerModel: 'sim-proposer',
      mipro: { online_proposer_min_rollouts: 6, online_rollouts_per_candidate: 3, online_proposer_max_candidates: 8, online_pool: Array.from({ length: 30 }, (_, i) => i) },
    });
    Object.assign(body.policy_optimization, { modules: MODULES });
    const created = await api(servers[0]!.url, 'POST', SESSIONS, { key: KEY, body: { config_body: body } });
    expect(created.status, JSON.stringify(created.body)).toBe(200);
    const sid = created.body.session_id as string;
    const jobId = created.body.job_id as string;
    const at = (i: number) => servers[i % servers.length]!.url;

    const wrong: string[] = [];
    const rollouts: Rollout[] = [];
    let turn = 0;
    let stop = false;
    const call = async (rid: string, m: number, instance: number, stream: boolean): Promise<string | null> => {
      const res = await fetch(`${at(instance)}/api/mipro/v1/${sid}/${rid}/chat/completions`, {
        method: 'POST', headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ stream, messages: [{ role: 'system', content: appText(m, rid) }, { role: 'user', content: `rid=${rid} m=${m}` }] }),
      });
      const text = await res.text();
      if (res.status !== 200) wrong.push(`${rid} ${MODULES[m]!.name}: ${res.status} ${text.slice(0, 200)}`);
      else if (res.headers.get('x-mipro-module') !== MODULES[m]!.name) wrong.push(`${rid} ${MODULES[m]!.name}: answered as module ${res.headers.get('x-mipro-module')}`);
      return res.headers.get('x-mipro-candidate-id');
    };
    const reward = (rid: string, instance: number, score: number) =>
      api(at(instance), 'POST', `${SESSIONS}/${sid}/reward`, { key: KEY, body: { rollout_id: rid, reward_info: { score } } });
    const client = async (c: number) => {
      for (let i = 0; !stop; i++) {
        const first = turn++;
        const kind = i % 4; // 0: calls in turn; 1: a scheduled rollout; 2: the three calls at once; 3: the last call streamed
        let rid = `c${c}-${i}`;
        let scheduled: string | null = null;
        if (kind === 1) {
          const next = await api(at(first + 2), 'POST', `${SESSIONS}/${sid}/rollouts`, { key: KEY });
          if (next.status !== 200) wrong.push(`scheduler: ${next.status} ${JSON.stringify(next.body)}`);
          else [rid, scheduled] = [next.body.rollout_id as string, next.body.candidate_id as string];
        }
        const r: Rollout = { id: rid, startedAt: Date.now(), served: [] };
        if (kind === 2) r.served = (await Promise.all([0, 1, 2].map((m) => call(rid, m, first + m, false)))).map(String);
        else for (let m = 0; m < 3; m++) r.served.push(String(await call(rid, m, first + m, kind === 3 && m === 2)));
        rollouts.push(r);
        if (new Set(r.served).size !== 1) wrong.push(`${rid}: its calls were served ${r.served.join(', ')}`);
        if (scheduled !== null && r.served[0] !== scheduled) wrong.push(`${rid}: scheduled on ${scheduled}, served ${r.served[0]}`);
        const score = (c + i) % 3 === 0 ? 1 : 0;
        // Every other rollout's reward goes to all three instances at once (a client retrying through a balancer).
        const sent = await Promise.all((i % 2 === 0 ? [first + 1] : [first, first + 1, first + 2]).map((x) => reward(rid, x, score)));
        if (sent.some((s) => s.status !== 200)) wrong.push(`${rid}: reward answers ${sent.map((s) => s.status).join(', ')}`);
        else if (sent.filter((s) => s.body.duplicate === false).length !== 1) wrong.push(`${rid}: ${sent.filter((s) => s.body.duplicate === false).length} rewards stored`);
        else if (sent.some((s) => s.body.candidate_id !== r.served[0])) wrong.push(`${rid}: reward credited to ${sent.map((s) => s.body.candidate_id).join(', ')}, served ${r.served[0]}`);
      }
    };
    const proposals = async () => (await api(at(turn), 'GET', `${SESSIONS}/${sid}/proposals`, { key: KEY })).body.items as Array<{ status: string }>;
    const clients = Array.from({ length: 6 }, (_, c) => client(c));
    let promoted = '';
    let promotedAt = Number.POSITIVE_INFINITY;
    try {
      await waitFor(async () => (await proposals()).filter((p) => p.status === 'succeeded').length >= 1);
      expect((await api(at(0), 'POST', `${SESSIONS}/${sid}/pause`, { key: KEY })).status).toBe(200);
      await new Promise((r) => setTimeout(r, 500));
      expect((await api(at(1), 'POST', `${SESSIONS}/${sid}/resume`, { key: KEY })).status).toBe(200);
      // Three proposals: the first round, one per module.
      await waitFor(async () => (await proposals()).filter((p) => p.status !== 'running').length >= 3);
      const view = await api(at(2), 'GET', `${SESSIONS}/${sid}`, { key: KEY });
      promoted = (view.body.candidates as Array<{ candidate_id: string }>).map((c) => c.candidate_id).find((id) => id !== 'baseline')!;
      expect((await api(at(2), 'POST', `/api/policy-optimization/online/jobs/${jobId}/promote`, { key: KEY, body: { candidate_id: promoted } })).status).toBe(200);
      promotedAt = Date.now();
      await new Promise((r) => setTimeout(r, 2_000));
    } finally {
      stop = true;
      await Promise.all(clients);
    }
    await Promise.all(servers.map((s) => s.settled()));
    expect(wrong).toEqual([]);

    const view = await api(at(0), 'GET', `${SESSIONS}/${sid}`, { key: KEY });
    const programs = new Map((view.body.candidates as Array<{ candidate_id: string; instructions: Record<string, string> }>).map((c) => [c.candidate_id, c.instructions]));
    // Rollouts begun a cache lifetime (1 s) after the promotion, on any instance, are served what was promoted.
    const late = rollouts.filter((r) => r.startedAt > promotedAt + 1_100);
    expect(late.length).toBeGreaterThan(0);
    expect(late.filter((r) => r.served[0] !== promoted).map((r) => `${r.id}: ${r.served[0]}`)).toEqual([]);

    // Upstream: each call went out with its module's text of its rollout's candidate. An instance that did
    // not know a rollout may send a call on a guess and drop that answer (docs/deploy.md): such extra
    // requests are allowed, a call without one carrying the right text is not.
    const byCall = new Map<string, string[]>();
    for (const req of fake.requests) {
      const messages = (req.body as { messages: Array<{ role: string; content: string }> }).messages;
      const m = /^rid=(\S+) m=(\d)$/.exec(messages.find((x) => x.role === 'user')?.content ?? '');
      if (m) byCall.set(`${m[1]}/${m[2]}`, [...(byCall.get(`${m[1]}/${m[2]}`) ?? []), messages.find((x) => x.role === 'system')?.content ?? '']);
    }
    const db = new pg.Client({ connectionString: PG_URL });
    await db.connect();
    try {
      await db.query(`set search_path to "${schema}"`);
      const calls = (await db.query('select rollout_id, seq, module from rollout_calls where job_id = $1', [jobId])).rows as Array<{ rollout_id: string; seq: number; module: string }>;
      const callsOf = new Map<string, Array<{ seq: number; module: string }>>();
      for (const c of calls) callsOf.set(c.rollout_id, [...(callsOf.get(c.rollout_id) ?? []), c]);
      for (const r of rollouts) {
        const program = programs.get(r.served[0]!)!;
        for (let m = 0; m < 3; m++) {
          const want = render(program[MODULES[m]!.name]!, values(m, r.id));
          if (!(byCall.get(`${r.id}/${m}`) ?? []).includes(want)) wrong.push(`${r.id} ${MODULES[m]!.name}: upstream got ${JSON.stringify(byCall.get(`${r.id}/${m}`))}, not ${JSON.stringify(want)}`);
        }
        // The record: three calls, one per module, numbered 1-3, whichever instances took them.
        const recorded = (callsOf.get(r.id) ?? []).sort((a, b) => a.seq - b.seq);
        if (JSON.stringify(recorded.map((c) => c.seq)) !== '[1,2,3]' || JSON.stringify(recorded.map((c) => c.module).sort()) !== '["answer","extract","route"]') {
          wrong.push(`${r.id}: recorded calls ${JSON.stringify(recorded)}`);
        }
      }
      expect(wrong).toEqual([]);
      // One reward row per rollout, counters equal to the rows.
      const q = async (text: string) => (await db.query(text, [jobId])).rows;
      expect(await q('select rollout_id from rewards where job_id = $1 group by rollout_id having count(*) > 1')).toEqual([]);
      expect(Number((await q('select count(*) as n from rewards where job_id = $1'))[0].n)).toBe(rollouts.length);
      const [job] = await q(`select rollout_count, reward_count, (select count(*) from rollouts where job_id = $1) as rollouts,
        (select count(*) from rewards where job_id = $1 and split <> 'monitor') as rewards from jobs where id = $1`);
      expect([Number(job.rollout_count), Number(job.reward_count)]).toEqual([Number(job.rollouts), Number(job.rewards)]);
      expect(await q(`select c.id from candidates c where c.job_id = $1 and (c.dispatches <> (select count(*) from rollouts r where r.job_id = c.job_id and r.candidate_id = c.id)
        or c.online_n <> (select count(*) from rewards w where w.job_id = c.job_id and w.candidate_id = c.id and w.split in ('online', 'bootstrap')))`)).toEqual([]);
      // Proposals one at a time (each began after the last one ended), the first three one per module.
      const props = await q('select seq, module, created_at, finished_at from proposals where job_id = $1 order by seq');
      for (let i = 1; i < props.length; i++) expect(props[i].created_at >= props[i - 1].finished_at, `proposal ${props[i].seq} began before ${props[i - 1].seq} ended`).toBe(true);
      expect(props.slice(0, 3).map((p) => p.module).sort()).toEqual(['answer', 'extract', 'route']);
      console.info(`program cluster: ${rollouts.length} rollouts, ${calls.length} calls (${fake.requests.length} upstream requests), ${programs.size} candidates, ${props.length} proposals, ${late.length} rollouts after the promotion`);
    } finally {
      await db.end();
    }
  }, 60_000);
});
