import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { seedJobBody } from '../../test/helpers/server.js';
import { spawnService, type Service } from './processes.js';

const BIN = join(import.meta.dirname, '..', '..', 'bin', 'miprox.js');

/**
 * miprox as users run it: `miprox serve` in its own process, production defaults (LOG_LEVEL=info,
 * SQLite file in WAL mode), the `openai` provider pointed at the fake upstream; plus one job.
 */
export interface MiproxUnderTest {
  service: Service;
  origin: string;
  apiKey: string;
  systemId: string;
  jobId: string;
  /** `/api/mipro/v1/{system_id}` (path only). */
  proxyPath: string;
  dbPath: string;
  cleanup(): Promise<void>;
}

/** `env` adds to the server's environment (bench:cluster points DATABASE_URL at PostgreSQL this way). */
export async function startMiprox(o: { upstreamUrl: string; nodeArgs?: string[]; env?: Record<string, string> }): Promise<MiproxUnderTest> {
  const dir = mkdtempSync(join(tmpdir(), 'miprox-bench-'));
  const dbPath = join(dir, 'miprox.db');
  const apiKey = `bench_${randomBytes(16).toString('hex')}`;
  const service = await spawnService({
    name: 'miprox',
    args: [...(o.nodeArgs ?? []), BIN, 'serve'],
    env: {
      PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info', DATABASE_URL: dbPath, MIPROX_API_KEY: apiKey,
      OPENAI_BASE_URL: o.upstreamUrl, OPENAI_API_KEY: 'sk-bench', ...o.env,
    },
    ready: /listening on (http:\/\/\S+)/,
  });
  const cleanup = async () => {
    await service.stop(15_000);
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const origin = service.ready;
    const res = await fetch(`${origin}/api/policy-optimization/online/jobs`, {
      method: 'POST',
      headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
      // The requests' own system text is the job's one module, as in an app adopting miprox: each call
      // is matched to it and served by the rollout's candidate (the baseline sends it as it came).
      body: JSON.stringify(seedJobBody({ provider: 'openai', proposerProvider: 'openai', initialPrompt: 'You are a helpful assistant.' })),
    });
    const job = (await res.json()) as { job_id?: string; system_id?: string; proxy_url?: string };
    if (res.status !== 200 || !job.system_id || !job.job_id || !job.proxy_url) throw new Error(`job creation failed: ${res.status} ${JSON.stringify(job)}`);
    return { service, origin, apiKey, systemId: job.system_id, jobId: job.job_id, proxyPath: new URL(job.proxy_url).pathname, dbPath, cleanup };
  } catch (err) {
    await cleanup();
    throw err;
  }
}

/** The job's counters as the API reports them (rollout_count proves every request was persisted). */
export async function jobCounters(m: MiproxUnderTest): Promise<{ rolloutCount: number; status: string }> {
  const res = await fetch(`${m.origin}/api/policy-optimization/online/jobs/${m.jobId}`, { headers: { authorization: `Bearer ${m.apiKey}` } });
  const body = (await res.json()) as { rollout_count?: number; status?: string };
  return { rolloutCount: body.rollout_count ?? Number.NaN, status: body.status ?? 'unknown' };
}

export async function scrapeMetrics(m: MiproxUnderTest): Promise<string> {
  const res = await fetch(`${m.origin}/metrics`);
  return res.text();
}

/** Another job on the same server (the surfaces rows use one per provider); returns its proxy path. */
export async function createJob(m: MiproxUnderTest, body: unknown): Promise<string> {
  const res = await fetch(`${m.origin}/api/policy-optimization/online/jobs`, {
    method: 'POST',
    headers: { authorization: `Bearer ${m.apiKey}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const job = (await res.json()) as { proxy_url?: string };
  if (res.status !== 200 || !job.proxy_url) throw new Error(`job creation failed: ${res.status} ${JSON.stringify(job)}`);
  return new URL(job.proxy_url).pathname;
}
