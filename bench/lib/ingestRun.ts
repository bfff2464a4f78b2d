import { api, simJobBody, startTestServer, type TestDb } from '../../test/helpers/server.js';
import { runLoadInChild } from './loadInChild.js';
import type { LoadResult } from './loadClient.js';
import { processCpuMs } from './procCpu.js';

/**
 * One reward-ingest measurement: a real miprox server in this process (this process does nothing else
 * meanwhile), N rollouts made through its proxy (not measured), then rewards for them POSTed over HTTP by
 * a load generator in a separate process at `connections` concurrency. Every reward is new (no
 * duplicates), so each one is a committed transaction: reward row, candidate statistics, job counters
 * and an event.
 */
export interface IngestOptions {
  db: TestDb;
  connections: number;
  warmup: number;
  rewards: number;
  /** Let proposals run as configured by the seed (sim proposer), or push min_rollouts out of reach. */
  proposals: boolean;
}

export interface IngestResult {
  db: TestDb;
  load: LoadResult;
  /** Rewards the job counted (must equal the rewards sent). */
  rewardCount: number;
  sent: number;
  /** CPU (user+sys) of the server process per reward over the whole load run. */
  serverCpuMsPerReward: number | null;
  proposals: number;
  prepareMs: number;
}

/**
 * The rollouts are real proxied calls (sim policy), as an application makes them: rewards then
 * resolve their candidate like in production, and proposals have recorded module calls to ground
 * on, so the measured rate includes the proposal work the rewards trigger.
 */
async function proxyRollouts(proxyUrl: string, total: number, connections: number): Promise<void> {
  let next = 0;
  const body = JSON.stringify({ messages: [{ role: 'user', content: 'What is the capital of France?' }] });
  const worker = async () => {
    while (next < total) {
      const i = next++;
      const res = await fetch(`${proxyUrl}/rw-${i}/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
      await res.text();
      if (res.status !== 200) throw new Error(`proxied call ${i} failed: ${res.status}`);
    }
  };
  await Promise.all(Array.from({ length: connections }, worker));
}

/** Rollouts beyond warm-up + measured: the generator may start up to connections-1 extra requests. */
const SPARE = 128;

export async function runIngest(o: IngestOptions): Promise<IngestResult> {
  const server = await startTestServer({ db: o.db });
  try {
    const mipro = o.proposals ? {} : { online_proposer_min_rollouts: 1_000_000_000 };
    const created = await api(server.url, 'POST', '/api/policy-optimization/online/jobs', { key: server.key, body: simJobBody(mipro, 'Answer the question concisely.') });
    if (created.status !== 200) throw new Error(`job creation failed: ${created.status} ${JSON.stringify(created.body)}`);
    const { job_id: jobId, system_id: systemId } = created.body as { job_id: string; system_id: string };

    const t0 = Date.now();
    const total = o.warmup + o.rewards + SPARE;
    await proxyRollouts(`${server.url}/api/mipro/v1/${systemId}`, total, o.connections);
    const prepareMs = Date.now() - t0;

    const cpuBefore = processCpuMs(process.pid);
    const load = await runLoadInChild({
      origin: server.url,
      pathTemplate: `/api/v1/online/sessions/${systemId}/reward`,
      headers: { 'content-type': 'application/json', authorization: `Bearer ${server.key}` },
      // `0.{n}` is a valid, varied score in [0, 1).
      body: '{"rollout_id":"rw-{n}","reward_info":{"score":0.{n}}}',
      connections: o.connections,
      warmup: { requests: o.warmup },
      measure: { requests: o.rewards },
    });
    const cpuAfter = processCpuMs(process.pid);
    const job = await api(server.url, 'GET', `/api/policy-optimization/online/jobs/${jobId}`, { key: server.key });
    const body = job.body as { reward_count?: number; proposal_seq?: number };
    return {
      db: o.db,
      load,
      rewardCount: body.reward_count ?? Number.NaN,
      sent: load.nextN,
      serverCpuMsPerReward: cpuBefore !== null && cpuAfter !== null ? (cpuAfter - cpuBefore) / Math.max(1, load.nextN) : null,
      proposals: body.proposal_seq ?? 0,
      prepareMs,
    };
  } finally {
    await server.close();
  }
}
