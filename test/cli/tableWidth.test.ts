import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MiproJobsClient } from '../../src/sdk/index.js';
import { runCli } from '../helpers/childServer.js';
import { type TestServer, addModuleCandidates, simJobBody, startTestServer } from '../helpers/server.js';

// Every case spawns the CLI (through tsx when not built), which takes seconds on a busy 2-core machine.
const SLOW = 300_000;

const NAME = 'Banking intent classifier for the production support queue, EU region';
const LONG = 'You are a meticulous banking assistant. Classify the customer query into exactly one intent from the list and answer with the label only.';
// Candidate ids as the server makes them (cand_ and 16 hex digits): the widest ids a table holds.
const CAND_A = 'cand_0123456789abcdef';
const CAND_B = 'cand_fedcba9876543210';

const lengths = (text: string) => text.trimEnd().split('\n').map((l) => l.length);

/**
 * The tables were as wide as their longest cell (a job's name, an instruction): on an 80-column
 * terminal every row wrapped and the columns no longer lined up. COLUMNS (or the terminal's width)
 * now bounds them; piped output without COLUMNS is not cut, and --json never is.
 */
describe('CLI tables fit COLUMNS; piped output is whole', () => {
  let t: TestServer;
  let env: Record<string, string>;
  let jobId: string;
  let programId: string;
  beforeAll(async () => {
    t = await startTestServer();
    // COLUMNS of the shell running the tests must not decide the piped case.
    env = { MIPROX_BASE_URL: t.url, MIPROX_API_KEY: t.key, COLUMNS: '' };
    const jobs = new MiproJobsClient({ backendUrl: t.url, apiKey: t.key });
    jobId = (await jobs.create({ ...simJobBody({}, LONG), name: NAME } as never)).job_id;
    await addModuleCandidates(t.server.store, jobId, 'main', { [CAND_A]: `${LONG} Think about the customer's wording first.`, [CAND_B]: `${LONG} Prefer the most specific intent.` });
    const program = simJobBody();
    programId = (await jobs.create({ policy_optimization: { ...program.policy_optimization, modules: [
      { name: 'classify_customer_intent', template: LONG },
      { name: 'answer', template: 'Answer from this context, citing the sentence you used and saying when the context does not hold the answer:\n{context}' },
    ] } })).job_id;
    await addModuleCandidates(t.server.store, programId, 'answer', { [CAND_A]: 'Answer only from this context, quoting the sentence the answer comes from, and say so when it is not there:\n{context}' });
  });
  afterAll(async () => t.close());

  it('jobs list: every line within COLUMNS, ids whole; piped without COLUMNS, the whole name and every column', async () => {
    for (const columns of [80, 120]) {
      const res = await runCli(['jobs', 'list'], { ...env, COLUMNS: String(columns) });
      expect(res.code, res.stderr).toBe(0);
      expect(Math.max(...lengths(res.stdout)), res.stdout).toBeLessThanOrEqual(columns);
      for (const id of [jobId, programId]) expect(res.stdout).toMatch(new RegExp(`^${id}  `, 'm'));
      expect(res.stdout).toMatch(/Banking intent \S*…/); // the name cut with an ellipsis
    }
    const piped = await runCli(['jobs', 'list'], env);
    expect(piped.stdout).toContain(NAME);
    expect(piped.stdout.split('\n')[0]).toMatch(/^JOB_ID\s+NAME\s+STATUS\s+ROLLOUTS\s+REWARDS\s+BEST\s+CANDIDATES\s+PROPOSALS\s+CREATED_AT$/);
    expect(Math.max(...lengths(piped.stdout))).toBeGreaterThan(120);
  }, SLOW);

  it('candidates and the tables of jobs show fit COLUMNS, of one module and of several; --json and --full are whole', async () => {
    for (const columns of [80, 120]) {
      for (const id of [jobId, programId]) {
        const candidates = await runCli(['candidates', id], { ...env, COLUMNS: String(columns) });
        expect(candidates.code, candidates.stderr).toBe(0);
        expect(Math.max(...lengths(candidates.stdout)), candidates.stdout).toBeLessThanOrEqual(columns);
        expect(candidates.stdout).toMatch(new RegExp(`^${CAND_A}  .*…$`, 'm'));
        // jobs show: its facts are printed whole (the proxy URL is copied); its tables are fitted.
        const show = await runCli(['jobs', 'show', id], { ...env, COLUMNS: String(columns) });
        expect(show.code, show.stderr).toBe(0);
        const tables = show.stdout.slice(show.stdout.indexOf('\n\n'));
        const modules = tables.includes('modules:') ? tables.slice(tables.indexOf('modules:'), tables.indexOf('best program')) : '';
        const candidatesTable = tables.slice(tables.indexOf('candidates:'));
        expect(Math.max(...lengths(`${modules}${candidatesTable}`))).toBeLessThanOrEqual(columns);
        expect(candidatesTable).toMatch(new RegExp(`^${CAND_A}  `, 'm'));
      }
    }
    const program = await runCli(['jobs', 'show', programId], { ...env, COLUMNS: '80' });
    expect(program.stdout).toMatch(/^ {2}classify_customer_intent {2}declared {4}You are a meticulous\S* .*…$/m);
    const narrow = { ...env, COLUMNS: '80' };
    const json = JSON.parse((await runCli(['candidates', jobId, '--json'], narrow)).stdout) as Array<{ candidate_id: string; instruction: string }>;
    expect(json.find((c) => c.candidate_id === CAND_B)?.instruction).toBe(`${LONG} Prefer the most specific intent.`);
    const full = await runCli(['candidates', jobId, '--full'], narrow);
    expect(full.stdout).toContain(`${LONG} Prefer the most specific intent.`);
  }, SLOW);

  it('keys list fits COLUMNS with its ids whole', async () => {
    const keysEnv = { DATABASE_URL: join(mkdtempSync(join(tmpdir(), 'miprox-keys-')), 'k.db'), MIPROX_API_KEY: '', COLUMNS: '80' };
    const made = await runCli(['keys', 'create', '--name', 'the support team key for the EU production deployment', '--json'], keysEnv);
    const { key_id: keyId, tenant_id: tenantId } = JSON.parse(made.stdout) as { key_id: string; tenant_id: string };
    const res = await runCli(['keys', 'list'], keysEnv);
    expect(res.code, res.stderr).toBe(0);
    expect(Math.max(...lengths(res.stdout)), res.stdout).toBeLessThanOrEqual(80);
    expect(res.stdout).toMatch(new RegExp(`^${keyId}  the supp\\S*…  \\S+  ${tenantId}  `, 'm'));
  }, SLOW);
});
