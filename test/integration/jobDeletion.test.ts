import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateApiKey, hashApiKey } from '../../src/api/auth.js';
import { loadConfig } from '../../src/config/config.js';
import { type RunningServer, type StartOptions, startServer } from '../../src/main.js';
import { createSimProvider, isProposerSimModel } from '../../src/providers/sim/index.js';
import type { ChatProvider, ProviderTarget } from '../../src/providers/types.js';
import { addCandidates, api, simJobBody } from '../helpers/server.js';
import { insertRollouts, jobRowCounts, totalRows } from '../helpers/jobRows.js';
import { waitFor } from '../helpers/waitFor.js';
import { alarmLogger, testDatabase } from '../helpers/testDatabase.js';

const JOBS = '/api/policy-optimization/online/jobs';
const SESSIONS = '/api/v1/online/sessions';
const KEY = 'mpx_job_deletion_test_key_0001';

interface Session { session_id: string; job_id: string; proxy_url: string }

/** Upstream calls wait while their gate is set (a slow model answering after the delete). */
const gates: { policy: Promise<void> | null; proposer: Promise<void> | null } = { policy: null, proposer: null };

function gatedSim(target: ProviderTarget): ChatProvider {
  const inner = createSimProvider(target);
  const which = isProposerSimModel(target.model) ? 'proposer' : 'policy';
  return {
    kind: inner.kind,
    complete: async (req, o) => {
      await gates[which];
      return inner.complete(req, o);
    },
    stream: async (req, o) => {
      await gates[which];
      return inner.stream(req, o);
    },
  };
}

function opened(): { wait: Promise<void>; open: () => void } {
  let open = () => {};
  const wait = new Promise<void>((resolve) => (open = resolve));
  return { wait, open };
}

/**
 * DELETE .../jobs/{id} (docs/API.md, "Deleting a job") with two instances on one database, as behind a
 * balancer: the job is gone for every route and proxy URL on both, its rows leave every table while
 * another job's stay, and what was in flight at the delete (a call, a reward, a proposal) neither
 * brings a row back nor fails with a 500.
 */
describe.each(['sqlite', 'postgres'] as const)('deleting a job on %s', (db) => {
  const database = testDatabase(db, 'del');
  const config = loadConfig({ PORT: '0', HOST: '127.0.0.1', MIPROX_API_KEY: KEY, LOG_LEVEL: 'info', ...database.env });
  /** Every log line of both instances at warn and above: a delete must cause none. */
  const alarms: string[] = [];
  const logger = () => alarmLogger(alarms);
  const start = (o: StartOptions = {}) => startServer(config, { logger: logger(), sim: gatedSim, ...o });
  let a: RunningServer;
  let b: RunningServer;

  beforeAll(async () => {
    a = await start();
    b = await start();
  });
  afterAll(async () => {
    gates.policy = null;
    gates.proposer = null;
    await Promise.all([a?.close(), b?.close()]);
    await database.drop();
  });

  const on = (server: RunningServer, url: string) => url.replace(/^http:\/\/[^/]+/, server.url);

  async function session(mipro: Record<string, unknown> = {}): Promise<Session> {
    const res = await api(a.url, 'POST', SESSIONS, { key: KEY, body: { config_body: simJobBody({ online_proposer_min_rollouts: 1000, ...mipro }, 'Classify the query.') } });
    expect(res.status).toBe(200);
    return res.body as Session;
  }

  async function rollout(s: Session, id: string, via: RunningServer, rewardVia: RunningServer, opts: { system?: string } = {}): Promise<void> {
    const messages = [...(opts.system ? [{ role: 'system', content: opts.system }] : []), { role: 'user', content: `my card was stolen (${id})` }];
    expect((await api(on(via, s.proxy_url), 'POST', `/${id}/chat/completions`, { body: { messages } })).status).toBe(200);
    const r = await api(rewardVia.url, 'POST', `${SESSIONS}/${s.session_id}/reward`, { key: KEY, body: { rollout_id: id, reward_info: { score: id.length % 2 } } });
    expect(r.status).toBe(200);
  }

  const cancel = async (s: Session) => expect((await api(a.url, 'POST', `${JOBS}/${s.job_id}/cancel`, { key: KEY })).status).toBe(200);
  const proxyCall = (server: RunningServer, s: Session, id: string) =>
    api(on(server, s.proxy_url), 'POST', `/${id}/chat/completions`, { body: { messages: [{ role: 'user', content: 'hello' }] } });

  it('removes an ended job from every table and every route on both instances, and leaves another job as it was', async () => {
    const [gone, kept] = [await session(), await session()];
    for (let i = 0; i < 6; i++) {
      for (const s of [gone, kept]) await rollout(s, `r${i}`, i % 2 ? a : b, i % 2 ? b : a, i === 0 ? { system: 'Some other system text.' } : {});
    }
    await addCandidates(a.store, gone.job_id, ['cand_gone']);
    await addCandidates(a.store, kept.job_id, ['cand_kept']);
    await Promise.all([a.settled(), b.settled()]);
    const before = await jobRowCounts(a.store, gone.job_id);
    // Every table keyed on a job holds rows of it, so the test sees each one emptied.
    for (const [table, n] of Object.entries(before)) expect(n, table).toBeGreaterThan(0);
    const keptBefore = await jobRowCounts(a.store, kept.job_id);

    // A running job is refused, saying how to end it.
    const running = await api(a.url, 'DELETE', `${JOBS}/${gone.job_id}`, { key: KEY });
    expect(running.status).toBe(409);
    expect(running.body.error.message).toMatch(/it is running; cancel it first/);
    await cancel(gone);
    // Both instances hold the ended job (its proxy URL keeps serving until the delete).
    for (const server of [a, b]) expect((await proxyCall(server, gone, `monitor-${server === a ? 'a' : 'b'}`)).status).toBe(200);

    const deleted = await api(a.url, 'DELETE', `${JOBS}/${gone.job_id}`, { key: KEY });
    expect(deleted.status).toBe(200);
    expect(deleted.body).toEqual({ id: gone.job_id, deleted: true });

    // At once on this instance, every route and the proxy URL.
    for (const path of [`${JOBS}/${gone.job_id}`, `${SESSIONS}/${gone.session_id}`, `${SESSIONS}/${gone.session_id}/events`, `${SESSIONS}/${gone.session_id}/rewards`,
      `${SESSIONS}/${gone.session_id}/candidates`, `${JOBS}/${gone.job_id}/export`]) {
      const res = await api(a.url, 'GET', path, { key: KEY });
      expect(res.status, path).toBe(404);
    }
    expect((await proxyCall(a, gone, 'after-delete')).status).toBe(404);
    expect((await api(a.url, 'POST', `${SESSIONS}/${gone.session_id}/reward`, { key: KEY, body: { rollout_id: 'r1', reward_info: { score: 1 } } })).status).toBe(404);
    expect((await api(a.url, 'GET', JOBS, { key: KEY })).body.items.map((j: { job_id: string }) => j.job_id)).not.toContain(gone.job_id);
    // The other instance: its control routes read the database (at once), its proxy within its cache's second.
    expect((await api(b.url, 'GET', `${JOBS}/${gone.job_id}`, { key: KEY })).status).toBe(404);
    const t0 = Date.now();
    await waitFor(async () => (await proxyCall(b, gone, `late-${Date.now()}`)).status === 404, 5_000);
    expect(Date.now() - t0).toBeLessThan(3_000);
    expect((await api(b.url, 'POST', `${SESSIONS}/${gone.session_id}/reward`, { key: KEY, body: { rollout_id: 'r2', reward_info: { score: 1 } } })).status).toBe(404);

    await waitFor(async () => totalRows(await jobRowCounts(a.store, gone.job_id)) === 0);
    await Promise.all([a.settled(), b.settled()]);
    expect(await jobRowCounts(a.store, gone.job_id)).toEqual(Object.fromEntries(Object.keys(before).map((t) => [t, 0])));
    expect(await jobRowCounts(a.store, kept.job_id)).toEqual(keptBefore);
    // The kept job works as before.
    await rollout(kept, 'after', b, a);

    // A second delete, on either instance, finds nothing.
    for (const server of [a, b]) expect((await api(server.url, 'DELETE', `${JOBS}/${gone.job_id}`, { key: KEY })).status).toBe(404);
    expect(alarms).toEqual([]);
  });

  it('answers 404 for another tenant\'s job exactly as for an unknown id, and 409 for a paused job', async () => {
    const s = await session();
    const tenant = await a.store.createTenant('other');
    const other = generateApiKey();
    await a.store.createApiKey({ tenantId: tenant.id, name: 'other', keyHash: hashApiKey(other.key), prefix: other.prefix });
    await cancel(s);
    const stranger = await api(a.url, 'DELETE', `${JOBS}/${s.job_id}`, { key: other.key });
    const unknown = await api(a.url, 'DELETE', `${JOBS}/pl_000000000000000000000000`, { key: other.key });
    expect(stranger.status).toBe(404);
    expect(unknown.status).toBe(404);
    expect(stranger.body.error.code).toBe(unknown.body.error.code);
    expect(stranger.body.error.message.replace(s.job_id, 'ID')).toBe(unknown.body.error.message.replace('pl_000000000000000000000000', 'ID'));
    expect((await api(a.url, 'DELETE', `${JOBS}/${s.job_id}`)).status).toBe(401);
    // Still there for its own tenant.
    expect((await api(a.url, 'GET', `${JOBS}/${s.job_id}`, { key: KEY })).status).toBe(200);

    const paused = await session();
    expect((await api(a.url, 'POST', `${JOBS}/${paused.job_id}/pause`, { key: KEY })).status).toBe(200);
    const refused = await api(b.url, 'DELETE', `${JOBS}/${paused.job_id}`, { key: KEY });
    expect(refused.status).toBe(409);
    expect(refused.body.error.message).toMatch(/it is paused; cancel it first/);
    expect((await api(a.url, 'GET', `${JOBS}/${paused.job_id}`, { key: KEY })).body.status).toBe('paused');
  });

  it('refuses a DELETE whose body or query says something (422 naming each key), deleting nothing; an empty body, {} or null deletes', async () => {
    const JSON_HEADER = { 'content-type': 'application/json' };
    const jobs = [await session(), await session(), await session(), await session()];
    for (const s of jobs) await cancel(s);
    const [s] = jobs as [Session];
    for (const rawBody of ['{"dry_run":true}', '{"force":false,"confirm":"no"}', '[]', '"yes"', '0']) {
      const res = await api(a.url, 'DELETE', `${JOBS}/${s.job_id}`, { key: KEY, rawBody, headers: JSON_HEADER });
      expect(res.status, rawBody).toBe(422);
      expect(res.body.error.details[0].message).toMatch(/a DELETE takes no body: .*nothing was deleted/);
    }
    const query = await api(a.url, 'DELETE', `${JOBS}/${s.job_id}?dry_run=true`, { key: KEY });
    expect(query.status).toBe(422);
    expect(query.body.error.details).toEqual([{ path: 'dry_run', message: expect.stringMatching(/unknown query parameter; a DELETE takes none: .*nothing was deleted/) }]);
    const two = await api(a.url, 'DELETE', `/api/prompt-learning/online/jobs/${s.job_id}`, { key: KEY, rawBody: '{"force":false,"confirm":"no"}', headers: JSON_HEADER });
    expect(two.body.error.details.map((d: { path: string }) => d.path)).toEqual(['force', 'confirm']);
    expect((await api(a.url, 'GET', `${JOBS}/${s.job_id}`, { key: KEY })).status).toBe(200);
    for (const [job, rawBody] of jobs.map((j, i) => [j, ['', '{}', 'null', undefined][i]] as const)) {
      const res = await api(a.url, 'DELETE', `${JOBS}/${job.job_id}`, { key: KEY, ...(rawBody === undefined ? {} : { rawBody, headers: JSON_HEADER }) });
      expect(res.status, String(rawBody)).toBe(200);
    }
  });

  it('brings no row back from a call, a reward or a proposal in flight at the delete', async () => {
    alarms.length = 0;
    // A proposal waiting on its proposer, and a call waiting on its model, when the job is deleted.
    const proposer = opened();
    gates.proposer = proposer.wait;
    const s = await session({ online_proposer_min_rollouts: 4 });
    for (let i = 0; i < 5; i++) await rollout(s, `p${i}`, a, a);
    await waitFor(async () => (await a.store.listProposals(s.job_id, 1))[0]?.status === 'running');
    const model = opened();
    gates.policy = model.wait;
    const call = proxyCall(a, s, 'in-flight');
    const onB = proxyCall(b, s, 'in-flight-b');
    await waitFor(async () => (await a.store.getRollout(s.job_id, 'in-flight')) !== null && (await a.store.getRollout(s.job_id, 'in-flight-b')) !== null);

    await cancel(s);
    expect((await api(a.url, 'DELETE', `${JOBS}/${s.job_id}`, { key: KEY })).status).toBe(200);
    // A reward for the call in flight, on either instance: refused, or taken and removed with the rest.
    const rewardA = await api(a.url, 'POST', `${SESSIONS}/${s.session_id}/reward`, { key: KEY, body: { rollout_id: 'in-flight', reward_info: { score: 1 } } });
    expect(rewardA.status).toBe(404);
    const rewardB = await api(b.url, 'POST', `${SESSIONS}/${s.session_id}/reward`, { key: KEY, body: { rollout_id: 'in-flight-b', reward_info: { score: 1 } } });
    expect([200, 404]).toContain(rewardB.status);
    await waitFor(async () => totalRows(await jobRowCounts(a.store, s.job_id)) === 0);

    // The model and the proposer answer after the rows are gone.
    model.open();
    proposer.open();
    for (const res of [await call, await onB]) {
      expect([200, 404]).toContain(res.status);
      if (res.status === 404) expect(res.body.error.message).toMatch(/not found/);
    }
    await Promise.all([a.settled(), b.settled()]);
    expect(totalRows(await jobRowCounts(a.store, s.job_id))).toBe(0);
    expect(alarms).toEqual([]);
    gates.policy = null;
    gates.proposer = null;
  });

  it('stops a removal between two slices when the server shuts down, and the next start finishes it', async () => {
    const lines: string[] = [];
    const c = await startServer(config, { logger: pino({ level: 'info' }, { write: (line: string) => void lines.push(line) }), sim: gatedSim });
    const s = await session();
    await insertRollouts(c.store, s.job_id, 40_000);
    await cancel(s);
    expect((await api(c.url, 'DELETE', `${JOBS}/${s.job_id}`, { key: KEY })).status).toBe(200);
    await c.close();
    // Stopped mid-way (a job this size takes seconds): marked, found by no read, rows left.
    expect(lines.some((l) => /removal paused by the shutdown/.test(l))).toBe(true);
    expect(totalRows(await jobRowCounts(a.store, s.job_id))).toBeGreaterThan(0);
    expect((await api(a.url, 'GET', `${JOBS}/${s.job_id}`, { key: KEY })).status).toBe(404);
    const d = await start();
    try {
      await waitFor(async () => totalRows(await jobRowCounts(d.store, s.job_id)) === 0, 60_000);
    } finally {
      await d.close();
    }
  }, 120_000);

  it('resumes a removal cut short when an instance starts', async () => {
    const s = await session();
    for (let i = 0; i < 4; i++) await rollout(s, `x${i}`, a, a);
    await cancel(s);
    await a.settled();
    const before = totalRows(await jobRowCounts(a.store, s.job_id));
    // As an instance that died mid-way leaves it: marked, a few slices removed, the rest still there.
    expect(await a.store.markJobDeleted(s.job_id)).toBe(true);
    let slices = 0;
    expect(await a.store.purgeDeletedJob(s.job_id, { sliceRows: 2, between: async () => ++slices < 3 })).toBeNull();
    const left = totalRows(await jobRowCounts(a.store, s.job_id));
    expect(left).toBeGreaterThan(0);
    expect(left).toBeLessThan(before);
    expect((await api(a.url, 'GET', `${JOBS}/${s.job_id}`, { key: KEY })).status).toBe(404);

    const c = await start();
    try {
      await waitFor(async () => totalRows(await jobRowCounts(c.store, s.job_id)) === 0);
    } finally {
      await c.close();
    }
  });
});
