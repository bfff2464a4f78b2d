/**
 * Job deletion benchmark (`npm run bench:job-delete`): how long DELETE .../jobs/{id} takes to remove a
 * big job's rows (docs/deploy.md, "Deleting jobs"), and how long another job's requests wait meanwhile,
 * on SQLite and on PostgreSQL (postgres://postgres@127.0.0.1:5432/test, a throw-away schema).
 *
 *   npx tsx bench/jobDelete.ts [--rollouts 100000] [--clients 4] [--db both|sqlite|postgres]
 *
 * The job's rows are inserted directly with SQL (a rollout with ~300 characters of input and ~100 of
 * output, one call record with the same text, one reward, one reward event each: about what a
 * one-module job keeps). Then `--clients` loops send proxied calls and rewards to a second job, one
 * request after another each, for 2 s before the delete and until its rows are gone: the longest
 * request of that traffic before and during the removal is the stall the removal caused. The server
 * runs in this process (as the SQLite server runs its statements on its own thread). Not part of CI.
 */
import { cpus, loadavg } from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { sql } from 'kysely';
import { api, simJobBody, startTestServer, type TestDb } from '../test/helpers/server.js';
import { dbOf, insertRollouts } from '../test/helpers/jobRows.js';
import { argValue, numberArg, table } from './lib/report.js';
import { fmtMs, summarize } from './lib/stats.js';

const JOBS = '/api/policy-optimization/online/jobs';
const SESSIONS = '/api/v1/online/sessions';

interface Row { db: TestDb; rollouts: number; insertS: number; deleteAnswerMs: number; removalS: number; before: number[]; during: number[]; lagBefore: number; lagDuring: number }

async function measure(db: TestDb, o: { rollouts: number; clients: number }): Promise<Row> {
  const t = await startTestServer({ db });
  try {
    const create = async () => (await api(t.url, 'POST', SESSIONS, { key: t.key, body: { config_body: simJobBody({ online_proposer_min_rollouts: 1_000_000 }, 'Classify the query.') } })).body as { session_id: string; job_id: string; proxy_url: string };
    const [big, busy] = [await create(), await create()];
    const began = Date.now();
    await insertRollouts(t.server.store, big.job_id, o.rollouts);
    if (db === 'postgres') await sql`analyze`.execute(dbOf(t.server.store));
    const insertS = (Date.now() - began) / 1000;
    await api(t.url, 'POST', `${JOBS}/${big.job_id}/cancel`, { key: t.key });

    type Phase = 'before' | 'during' | 'done';
    const now: { phase: Phase } = { phase: 'before' };
    const samples = { before: [] as number[], during: [] as number[] };
    const client = async (c: number) => {
      for (let i = 0; now.phase !== 'done'; i++) {
        const id = `c${c}-${i}`;
        for (const send of [
          () => api(busy.proxy_url, 'POST', `/${id}/chat/completions`, { body: { messages: [{ role: 'user', content: 'my card was stolen' }] } }),
          () => api(t.url, 'POST', `${SESSIONS}/${busy.session_id}/reward`, { key: t.key, body: { rollout_id: id, reward_info: { score: i % 2 } } }),
        ]) {
          const at: Phase = now.phase;
          const t0 = performance.now();
          const res = await send();
          if (res.status !== 200) throw new Error(`traffic failed: ${res.status} ${JSON.stringify(res.body)}`);
          if (at !== ('done' as Phase) && at === (now.phase as Phase)) samples[at as 'before' | 'during'].push(performance.now() - t0);
        }
      }
    };
    const traffic = Promise.all(Array.from({ length: o.clients }, (_, c) => client(c)));
    // The event loop's longest delay: how long the server's thread was held (SQLite runs statements on it).
    let lag = monitorEventLoopDelay({ resolution: 5 });
    lag.enable();
    await new Promise((r) => setTimeout(r, 2000));
    lag.disable();
    const lagBefore = lag.max / 1e6;
    lag = monitorEventLoopDelay({ resolution: 5 });
    lag.enable();
    now.phase = 'during';
    const t0 = performance.now();
    const res = await api(t.url, 'DELETE', `${JOBS}/${big.job_id}`, { key: t.key });
    const deleteAnswerMs = performance.now() - t0;
    if (res.status !== 200) throw new Error(`delete failed: ${res.status} ${JSON.stringify(res.body)}`);
    const k = dbOf(t.server.store);
    for (;;) {
      const left = await sql<{ n: number | string }>`select count(*) as n from jobs where id = ${big.job_id}`.execute(k);
      if (Number(left.rows[0]?.n) === 0) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    const removalS = (performance.now() - t0) / 1000;
    lag.disable();
    const lagDuring = lag.max / 1e6;
    now.phase = 'done';
    await traffic;
    return { db, rollouts: o.rollouts, insertS, deleteAnswerMs, removalS, ...samples, lagBefore, lagDuring };
  } finally {
    await t.close();
  }
}

async function main(): Promise<void> {
  const o = { rollouts: numberArg('--rollouts', 100_000), clients: numberArg('--clients', 4) };
  const which = argValue('--db') ?? 'both';
  if (!['both', 'sqlite', 'postgres'].includes(which)) throw new Error(`--db must be both, sqlite or postgres, got ${which}`);
  console.log(`miprox job deletion benchmark: node ${process.version}, ${cpus().length} CPUs, load average ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
  console.log(`a job of ${o.rollouts} rollouts (+ as many calls, rewards, reward events) deleted while ${o.clients} clients send calls and rewards to another job`);
  const rows: Row[] = [];
  for (const db of ['sqlite', 'postgres'] as const) {
    if (which !== 'both' && which !== db) continue;
    console.log(`${db}: inserting...`);
    rows.push(await measure(db, o));
  }
  console.log('');
  console.log(table(
    ['database', 'rows removed', 'DELETE answered', 'removal', 'other job before: p50 / p99 / max', 'during: p50 / p99 / max', 'requests during', 'event loop held, max: before / during'],
    rows.map((r) => {
      const b = summarize(r.before);
      const d = summarize(r.during);
      return [r.db, String(r.rollouts * 4), fmtMs(r.deleteAnswerMs), `${r.removalS.toFixed(1)} s`,
        `${fmtMs(b.p50)} / ${fmtMs(b.p99)} / ${fmtMs(b.max)}`, `${fmtMs(d.p50)} / ${fmtMs(d.p99)} / ${fmtMs(d.max)}`, String(r.during.length),
        `${fmtMs(r.lagBefore)} / ${fmtMs(r.lagDuring)}`];
    }),
  ));
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
