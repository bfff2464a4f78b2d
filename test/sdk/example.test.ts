import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MiproJobsClient } from '../../src/sdk/index.js';
import { type ExitedProcess, runToExit } from '../helpers/runToExit.js';
import type { TestServer } from '../helpers/server.js';
import { useTestServer } from '../helpers/useTestServer.js';

const ROOT = join(import.meta.dirname, '..', '..');

function runExample(args: string[], env: Record<string, string>): Promise<ExitedProcess> {
  return runToExit(process.execPath, ['--import', 'tsx', join(ROOT, 'examples', 'rollout-loop.ts'), ...args], { cwd: ROOT, env });
}

describe('examples/rollout-loop.ts', () => {
  let t: TestServer;
  useTestServer({}, (s) => (t = s));

  it('runs offline against a local server with the sim provider and reports every reward', async () => {
    const res = await runExample(['--rollouts', '40', '--stop'], { MIPROX_BASE_URL: t.url, MIPROX_API_KEY: t.key });
    expect(res.stderr).toBe('');
    expect(res.code).toBe(0);
    const jobId = /\(job (pl_[0-9a-f]+)\)/.exec(res.stdout)?.[1];
    expect(jobId).toBeDefined();
    expect(res.stdout).toContain('rollout 40/40');
    const job = await new MiproJobsClient({ backendUrl: t.url, apiKey: t.key }).get(jobId!);
    expect(job).toMatchObject({ status: 'succeeded', rollout_count: 40, reward_count: 40 });
    expect(job.metadata).toMatchObject({ example: 'rollout-loop' });
    // 40 rewards with a proposal every 10: the proposer must have added candidates.
    expect(job.proposal_seq).toBeGreaterThanOrEqual(1);
    expect(job.candidates?.length ?? 0).toBeGreaterThan(1);
    expect(res.stdout).toMatch(/^best score: /m);
  }, 120_000);
});
