/**
 * Jobs list benchmark (`npm run bench:jobs-list`): what `GET /api/policy-optimization/online/jobs?limit=N`
 * costs on a tenant with many jobs, on SQLite and on PostgreSQL (postgres://postgres@127.0.0.1:5432/test,
 * a throw-away schema dropped afterwards): the median time of a page over several requests, and the
 * statements the store sent for one page (its round trips on PostgreSQL).
 *
 *   npx tsx bench/jobsList.ts [--jobs 200] [--limit 100] [--requests 9] [--db both|sqlite|postgres]
 *
 * Each job gets two candidates beside its baseline and a few rewarded online rollouts on repeated
 * seeds (written through the store: the page's reads are measured, not the setup). The server runs
 * in this process, so the store's statements can be counted. Not part of CI.
 */
import { cpus, loadavg } from 'node:os';
import { api, addCandidates, simJobBody, startTestServer, type TestDb } from '../test/helpers/server.js';
import { countStatements } from '../test/helpers/statementCount.js';
import { argValue, numberArg, table } from './lib/report.js';
import { fmtMs, summarize } from './lib/stats.js';

const JOBS = '/api/policy-optimization/online/jobs';

interface Row { db: TestDb; p50: number; min: number; max: number; statements: number; items: number; setupS: number }

async function measure(db: TestDb, o: { jobs: number; limit: number; requests: number }): Promise<Row> {
  const began = Date.now();
  const t = await startTestServer({ db });
  try {
    const store = t.server.store;
    for (let j = 0; j < o.jobs; j++) {
      const res = await api(t.url, 'POST', JOBS, { key: t.key, body: simJobBody({}, `Job ${j}: answer the question.`) });
      if (res.status !== 200) throw new Error(`job creation failed: ${res.status} ${JSON.stringify(res.body)}`);
      const jobId = res.body.job_id as string;
      await addCandidates(store, jobId, [`cand_${j}_a`, `cand_${j}_b`]);
      for (const [k, candidateId] of ['baseline', `cand_${j}_a`, `cand_${j}_b`].entries()) {
        for (let i = 0; i < 4; i++) {
          const id = `r-${k}-${i}`;
          await store.insertRollout({ jobId, id, candidateId, seed: i % 3, split: 'online', correlationId: null, inputMessages: null });
          await store.recordReward({ jobId, rolloutId: id, candidateId, reward: (i + k) % 2, split: 'online', seed: i % 3, metadata: null }, { eventType: 'mipro.reward.received', message: 'reward', data: {} });
        }
      }
    }
    const setupS = (Date.now() - began) / 1000;
    const page = () => api(t.url, 'GET', `${JOBS}?limit=${o.limit}`, { key: t.key });
    let items = 0;
    const statements = await countStatements(store, async () => {
      const res = await page();
      if (res.status !== 200) throw new Error(`list failed: ${res.status} ${JSON.stringify(res.body)}`);
      items = res.body.items.length;
    });
    const times: number[] = [];
    for (let i = 0; i < o.requests; i++) {
      const start = performance.now();
      const res = await page();
      times.push(performance.now() - start);
      if (res.status !== 200) throw new Error(`list failed: ${res.status}`);
    }
    const s = summarize(times);
    return { db, p50: s.p50, min: Math.min(...times), max: s.max, statements, items, setupS };
  } finally {
    await t.close();
  }
}

async function main(): Promise<void> {
  const o = { jobs: numberArg('--jobs', 200), limit: numberArg('--limit', 100), requests: numberArg('--requests', 9) };
  const which = argValue('--db') ?? 'both';
  if (!['both', 'sqlite', 'postgres'].includes(which)) throw new Error(`--db must be both, sqlite or postgres, got ${which}`);
  const load = loadavg().map((x) => x.toFixed(2)).join(' ');
  console.log(`miprox jobs list benchmark: node ${process.version}, ${cpus().length} CPUs, load average ${load}`);
  console.log(`${o.jobs} jobs (3 candidates, 12 rewarded rollouts each), GET jobs?limit=${o.limit}, ${o.requests} timed requests after one counted`);
  const rows: Row[] = [];
  for (const db of ['sqlite', 'postgres'] as const) {
    if (which !== 'both' && which !== db) continue;
    console.log(`${db}: creating ${o.jobs} jobs...`);
    rows.push(await measure(db, o));
  }
  console.log('');
  console.log(table(
    ['database', 'items', 'median', 'min', 'max', 'statements/page', 'setup'],
    rows.map((r) => [r.db, String(r.items), fmtMs(r.p50), fmtMs(r.min), fmtMs(r.max), String(r.statements), `${r.setupS.toFixed(1)} s`]),
  ));
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
