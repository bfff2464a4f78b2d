import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { type FakeUpstream, lastUserMessageOf, systemPromptOf } from '../fakes/fakeUpstream.js';
import { useFakeUpstreamServer } from '../helpers/fakeUpstreamServer.js';
import { type ExitedProcess, runToExit } from '../helpers/runToExit.js';
import { type TestServer, api } from '../helpers/server.js';

const ROOT = join(import.meta.dirname, '..', '..');
const EXAMPLE = join(ROOT, 'examples', 'python', 'program.py');
const ROLLOUTS = 24;

/**
 * The Python interpreter that has the `openai` package: MIPROX_PYTHON when set, else a venv of this
 * checkout, `.venv-ci`, made here on first use from examples/python/requirements.txt (python3 and the
 * machine's package index), so `npm install && npm test` needs no step of its own. Missing is a
 * failure that says how to make it, not a skip: the example is the Python users' contract and must
 * not stop being run unnoticed.
 */
function python(): string {
  const setup = 'python3 -m venv .venv-ci && .venv-ci/bin/pip install -r examples/python/requirements.txt (or set MIPROX_PYTHON to a python that has openai)';
  const given = process.env.MIPROX_PYTHON;
  const found = given ?? join(ROOT, '.venv-ci', 'bin', 'python');
  if (given === undefined && !importsOpenai(found)) makeVenv(setup);
  if (!existsSync(found)) throw new Error(`examples/python needs a Python with the openai package; none at ${found}: ${setup}`);
  try {
    execFileSync(found, ['-c', 'import openai'], { stdio: 'pipe' });
  } catch (e) {
    throw new Error(`${found} cannot import openai (${String((e as { stderr?: Buffer }).stderr ?? e).trim()}): ${setup}`);
  }
  return found;
}

function importsOpenai(interpreter: string): boolean {
  if (!existsSync(interpreter)) return false;
  try {
    execFileSync(interpreter, ['-c', 'import openai'], { stdio: 'pipe' });
    return true;
  } catch {
    return false;
  }
}

/** `.venv-ci` with the example's requirements. --retries 0: an unreachable default index is passed over at once, not retried for minutes. */
function makeVenv(setup: string): void {
  try {
    execFileSync('python3', ['-m', 'venv', join(ROOT, '.venv-ci')], { cwd: ROOT, stdio: 'pipe', timeout: 60_000 });
    execFileSync(join(ROOT, '.venv-ci', 'bin', 'pip'), ['install', '-q', '--retries', '0', '-r', join(ROOT, 'examples', 'python', 'requirements.txt')], { cwd: ROOT, stdio: 'pipe', timeout: 240_000 });
  } catch (e) {
    throw new Error(`could not make .venv-ci for examples/python (${String((e as { stderr?: Buffer }).stderr ?? e).trim().slice(-600)}): ${setup}`);
  }
}

function runPython(interpreter: string, env: Record<string, string>): Promise<ExitedProcess> {
  return runToExit(interpreter, [EXAMPLE], { cwd: ROOT, env });
}

/** The fake model: JSON for a structured-output call, a plan for a stream, else an intent label (right for 2 of the 3 queries). */
function reply(req: Parameters<typeof systemPromptOf>[0]): string {
  const body = req.body as { response_format?: unknown; stream?: unknown };
  if (body.response_format !== undefined) return JSON.stringify({ customer: 'Ada', product: 'card', problem: 'lost' });
  if (body.stream === true) return 'First block the card, then order a new one.';
  const query = lastUserMessageOf(req);
  return query.includes('lost') ? 'card_lost' : query.includes('transfer') ? 'transfer_pending' : 'no_idea';
}

/**
 * examples/python/program.py, run by python3 with the official `openai` package against a real
 * server whose `openai` provider is a fake upstream: three modules on three surfaces (structured
 * chat output, a chat stream, the Responses API), rewards with feedback_by_module, the job read
 * back, promoted and exported with urllib.
 */
describe('examples/python/program.py', () => {
  let fake: FakeUpstream;
  let t: TestServer;
  let interpreter: string;
  beforeAll(() => {
    interpreter = python();
  }, 300_000); // the first run makes .venv-ci
  useFakeUpstreamServer({ upstream: { reply } }, (s) => ({ fake, t } = s));

  it('sends each module to the upstream on its surface, records the rewards and reads the best program', async () => {
    const res = await runPython(interpreter, {
      MIPROX_BASE_URL: t.url, MIPROX_API_KEY: t.key, ROLLOUTS: String(ROLLOUTS), POLICY_PROVIDER: 'openai', POLICY_MODEL: 'gpt-4o-mini',
    });
    expect(res.stderr).toBe('');
    expect(res.code).toBe(0);
    const jobId = /^job (pl_[0-9a-f]+): proxy /m.exec(res.stdout)?.[1];
    expect(jobId, res.stdout).toBeDefined();

    // Each module's call reached the upstream with its module's text, on the surface the example uses.
    const [extract, plan, answer] = fake.requests.slice(0, 3);
    expect(extract!.url).toMatch(/\/chat\/completions$/);
    expect(systemPromptOf(extract!)).toBe("Extract the customer's name, the product and the problem from this chat message.");
    expect(extract!.body).toMatchObject({ model: 'gpt-4o-mini', response_format: { type: 'json_schema', json_schema: { name: 'Facts', strict: true } } });
    expect(plan!.url).toMatch(/\/chat\/completions$/);
    expect(systemPromptOf(plan!)).toBe('Plan how to help customer Ada with their banking issue.');
    expect(plan!.body).toMatchObject({ stream: true });
    expect(answer!.url).toMatch(/\/responses$/);
    expect((answer!.body as { instructions: string }).instructions).toBe(
      'Classify the customer\'s banking query into one of: card_arrival, card_lost, transfer_pending. Answer with the label only.\n'
      + 'Facts:\n{"customer":"Ada","product":"card","problem":"lost"}',
    );
    // The `mipro` body field and the x-mipro-* headers are the proxy's: none reached the provider.
    for (const r of fake.requests) {
      expect(r.body).not.toHaveProperty('mipro');
      expect(Object.keys(r.headers).filter((h) => h.startsWith('x-mipro') || h.startsWith('x-stainless'))).toEqual([]);
    }

    // The rollouts' calls: one per module, in order, with the captured or given variables; the scheduler took the correlation id.
    const rewards = (await api(t.url, 'GET', `/api/v1/online/sessions/${jobId}/rewards?limit=1000`, { key: t.key })).body as {
      items: Array<{ rollout_id: string; reward: number; feedback_by_module?: Record<string, string> }>;
    };
    expect(rewards.items).toHaveLength(ROLLOUTS);
    const first = (await api(t.url, 'GET', `/api/systems/${jobId}/rollouts/${rewards.items[0]!.rollout_id}`, { key: t.key })).body as {
      correlation_id: string; calls: Array<{ module: string; variables: Record<string, string> }>;
    };
    expect(first.correlation_id).toBe('ticket-0');
    expect(first.calls.map((c) => [c.module, c.variables])).toEqual([
      ['extract', { channel: 'chat' }],
      ['plan', { customer: 'Ada' }],
      ['answer', { facts: '{"customer":"Ada","product":"card","problem":"lost"}' }],
    ]);
    // Every reward recorded; the wrong answers carry the answer module's feedback.
    const wrong = rewards.items.filter((r) => r.reward === 0);
    expect(wrong.length).toBeGreaterThan(0);
    for (const r of wrong) expect(r.feedback_by_module).toEqual({ answer: expect.stringMatching(/^answered 'no_idea', expected card_arrival$/) });
    for (const r of rewards.items.filter((x) => x.reward === 1)) expect(r.feedback_by_module).toBeUndefined();

    // best_program read and printed; the promoted candidate is what the job serves, and the export is its program.
    const job = (await api(t.url, 'GET', `/api/policy-optimization/online/jobs/${jobId}`, { key: t.key })).body as {
      status: string; reward_count: number; served_candidate_id: string; best_program: Record<string, string>;
    };
    expect(job).toMatchObject({ status: 'succeeded', reward_count: ROLLOUTS });
    expect(res.stdout).toContain(`rollouts ${ROLLOUTS}, rewards ${ROLLOUTS}, mean score `);
    expect(res.stdout).toMatch(new RegExp(`^best candidate ${job.served_candidate_id} \\(score `, 'm'));
    expect(res.stdout).toContain(`promoted ${job.served_candidate_id}: job succeeded, serving ${job.served_candidate_id}`);
    for (const module of ['extract', 'plan', 'answer']) {
      expect(res.stdout).toContain(`  ${module}: ${pyRepr(job.best_program[module]!)}`);
      expect(res.stdout).toMatch(new RegExp(`^export ${module}: `, 'm'));
    }
  });
});

/** Python's repr of a str, for the texts these templates hold (no quotes of both kinds, no control characters but \n). */
function pyRepr(text: string): string {
  const quote = text.includes("'") ? '"' : "'";
  return quote + text.replaceAll('\\', '\\\\').replaceAll('\n', '\\n') + quote;
}
