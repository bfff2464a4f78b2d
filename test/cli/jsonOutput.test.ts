import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MiproJobsClient } from '../../src/sdk/index.js';
import { runCli } from '../helpers/childServer.js';
import { type TestServer, startTestServer } from '../helpers/server.js';
import { simJobBody } from '../sdk/helpers.js';

const SLOW = 120_000;
/** DEL and C1 controls: JSON.stringify leaves them raw; U+009B is a CSI to some terminals. */
const RAW_C1 = /[\u007f-\u009f]/;

/**
 * `jobs export` to standard output replaced DEL and C1 characters of the prompts with U+FFFD (the
 * terminal filter of text output), so `jobs export ID > FILE` wrote other texts than `-o FILE`; and
 * --json output wrote them raw. JSON output escapes them instead: exact texts, nothing for a terminal.
 */
describe('JSON output: control characters of prompts and names', () => {
  let t: TestServer;
  let jobId: string;
  const template = 'Classify\u007f the \u0085intent \u009b31m now.';
  const name = 'job \u009b2J name';
  beforeAll(async () => {
    t = await startTestServer();
    const body = simJobBody();
    (body.policy_optimization as Record<string, unknown>).modules = [{ name: 'main', template }];
    jobId = (await new MiproJobsClient({ backendUrl: t.url, apiKey: t.key }).create({ ...body, name })).job_id;
  }, SLOW);
  afterAll(async () => t.close());

  it('jobs export writes the same JSON to standard output as to -o FILE, texts exact', async () => {
    const env = { MIPROX_BASE_URL: t.url, MIPROX_API_KEY: t.key };
    const stdout = await runCli(['jobs', 'export', jobId], env);
    expect(stdout.code).toBe(0);
    const file = join(mkdtempSync(join(tmpdir(), 'miprox-export-')), 'program.json');
    const written = await runCli(['jobs', 'export', jobId, '-o', file], env);
    expect(written.code).toBe(0);
    expect(stdout.stdout).toBe(readFileSync(file, 'utf8'));
    expect(stdout.stdout).not.toMatch(RAW_C1);
    expect(JSON.parse(stdout.stdout).modules[0].template).toBe(template);
  }, SLOW);

  it('--json keeps the texts exact and writes no raw control character', async () => {
    const env = { MIPROX_BASE_URL: t.url, MIPROX_API_KEY: t.key };
    const show = await runCli(['jobs', 'show', jobId, '--json'], env);
    expect(show.code).toBe(0);
    expect(show.stdout).not.toMatch(RAW_C1);
    const job = JSON.parse(show.stdout);
    expect(job.name).toBe(name);
    expect(job.modules[0].template).toBe(template);
    const list = await runCli(['jobs', 'list', '--json'], env);
    expect(list.stdout).not.toMatch(RAW_C1);
    expect(JSON.parse(list.stdout)[0].name).toBe(name);
  }, SLOW);
});
