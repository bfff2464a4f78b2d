import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MiproJobsClient } from '../../src/sdk/index.js';
import { type ExitedProcess, runToExit } from '../helpers/runToExit.js';
import { type TestServer, startTestServer } from '../helpers/server.js';
import { useTestServer } from '../helpers/useTestServer.js';

const ROOT = join(import.meta.dirname, '..', '..');

/** Runs a file with node + tsx, resolving `import ... from 'miprox'` to the SDK source of this checkout. */
function runTs(file: string, env: Record<string, string>): Promise<ExitedProcess> {
  return runToExit(process.execPath, ['--conditions=miprox-source', '--import', 'tsx', file], { cwd: ROOT, env });
}

/**
 * The README's TypeScript examples, run as a user would and compared with what the README shows.
 * Issue 16 item 4: the quickstart could not run as written (no `miprox` import from a checkout, a
 * config file that existed nowhere, undefined helpers); it is now examples/quickstart.ts with
 * examples/mipro.toml. The programs snippet could not either (no imports, undefined names, no
 * reward); it is now examples/programs.ts. The README shows both files verbatim.
 */
describe('the README examples (examples/quickstart.ts, examples/programs.ts)', () => {
  let t: TestServer;
  useTestServer({}, (s) => (t = s));

  /** Runs an example offline against the test server; the id of the job it ended. */
  async function runExample(file: string, rollouts: number): Promise<{ jobId: string; stdout: string }> {
    const res = await runTs(join(ROOT, 'examples', file), { MIPROX_BASE_URL: t.url, MIPROX_API_KEY: t.key, ROLLOUTS: String(rollouts) });
    expect(res.stderr).toBe('');
    expect(res.code).toBe(0);
    const jobId = /^job (pl_[0-9a-f]+): succeeded, best score /m.exec(res.stdout)?.[1];
    expect(jobId, res.stdout).toBeDefined();
    return { jobId: jobId!, stdout: res.stdout };
  }

  it('quickstart: runs offline against a server with the sim provider and ends the job', async () => {
    const { jobId } = await runExample('quickstart.ts', 30);
    const job = await new MiproJobsClient({ backendUrl: t.url, apiKey: t.key }).get(jobId);
    expect(job).toMatchObject({ status: 'succeeded', reward_count: 30 });
    // The baseline came from examples/mipro.toml's initial_prompt.
    expect(job.candidates?.find((c) => c.candidate_id === 'baseline')?.instruction).toBe("Classify the customer's banking query into an intent.");
  }, 120_000);

  it('programs: runs offline; each call is its own module, and every module gets proposals', async () => {
    const { jobId, stdout } = await runExample('programs.ts', 90);
    // Every module was tried (the first round of module choice), whichever moved the reward.
    const counts = /^proposals by module: extract (\d+), plan (\d+), answer (\d+)$/m.exec(stdout);
    expect(counts, stdout).not.toBeNull();
    expect(counts!.slice(1).map(Number).every((n) => n >= 1)).toBe(true);
    const jobs = new MiproJobsClient({ backendUrl: t.url, apiKey: t.key });
    const job = await jobs.get(jobId);
    expect(job).toMatchObject({ status: 'succeeded', reward_count: 90 });
    expect(job.modules.map((m) => m.name)).toEqual(['extract', 'plan', 'answer']);
    const session = await jobs.session(jobId);
    const rollout = await session.getRollout('rollout_7');
    expect(rollout.calls.map((c) => [c.module, c.variables])).toEqual([['extract', {}], ['plan', { customer: 'Bob' }], ['answer', { context: expect.any(String) }]]);
  }, 120_000);

  /**
   * Nothing showed how to point the Anthropic SDK or OpenAI's Responses API at the proxy, though both
   * surfaces are served: a user had to guess the base URL (the Anthropic SDK appends /v1/messages).
   */
  it('clients: one rollout through Responses, plain HTTP and Anthropic Messages, each call in its module', async () => {
    const { jobId } = await runExample('clients.ts', 6);
    const jobs = new MiproJobsClient({ backendUrl: t.url, apiKey: t.key });
    expect(await jobs.get(jobId)).toMatchObject({ status: 'succeeded', reward_count: 6, unmatched_prompts: 0 });
    const session = await jobs.session(jobId);
    const [first] = (await session.listSeedEvals({ limit: 1 })).items;
    // Each call's record is written just after its answer: wait for the third.
    let calls: { module: string | null; variables: Record<string, string> }[] = [];
    for (let i = 0; i < 50 && calls.length < 3; i++) {
      calls = (await session.getRollout(first!.rollout_id)).calls;
      if (calls.length < 3) await new Promise((r) => setTimeout(r, 20));
    }
    expect(calls.map((c) => [c.module, Object.keys(c.variables)])).toEqual([['extract', []], ['plan', ['entities']], ['answer', ['context']]]);
  }, 120_000);

  it.each(['quickstart.ts', 'programs.ts', 'clients.ts'])('%s is what the README shows', (file) => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const blocks = [...readme.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]);
    expect(blocks).toContain(readFileSync(join(ROOT, 'examples', file), 'utf8'));
  });
});

/**
 * Issue 16 item 5: the README's seed curl used provider "openai" without saying the server needs
 * OPENAI_API_KEY. The README now shows the sim variant first; both bodies are sent as written.
 */
describe("the README's seed curl requests", () => {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('### The seed request with curl'), readme.indexOf('## API overview'));
  const bodies = [...section.matchAll(/-d '([\s\S]*?)'/g)].map((m) => JSON.parse(m[1]!) as { policy_optimization: { policy: { provider: string } } });

  let bare: TestServer;
  let keyed: TestServer;
  beforeAll(async () => {
    bare = await startTestServer();
    keyed = await startTestServer({ env: { OPENAI_API_KEY: 'sk-test-never-called' } });
  });
  afterAll(async () => {
    await bare.close();
    await keyed.close();
  });

  const post = (s: TestServer, body: unknown) => fetch(`${s.url}/api/policy-optimization/online/jobs`, {
    method: 'POST', headers: { authorization: `Bearer ${s.key}`, 'content-type': 'application/json' }, body: JSON.stringify(body),
  });

  it('shows the sim variant first, and it runs on a server without any model key', async () => {
    expect(bodies.map((b) => b.policy_optimization.policy.provider)).toEqual(['sim', 'openai']);
    expect((await post(bare, bodies[0])).status).toBe(200);
  });

  it('says the openai variant needs OPENAI_API_KEY, which is what the server answers without it', async () => {
    const between = section.slice(section.indexOf("-d '"), section.lastIndexOf("-d '"));
    expect(between).toMatch(/provider: "openai"[\s\S]*OPENAI_API_KEY/);
    const refused = await post(bare, bodies[1]);
    expect(refused.status).toBe(422);
    expect(JSON.stringify(await refused.json())).toMatch(/OPENAI_API_KEY/);
    expect((await post(keyed, bodies[1])).status).toBe(200);
  });
});
