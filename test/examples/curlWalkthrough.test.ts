import { execFile, execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import type { FakeUpstream } from '../fakes/fakeUpstream.js';
import { useFakeUpstreamServer } from '../helpers/fakeUpstreamServer.js';
import type { TestServer } from '../helpers/server.js';

const run = promisify(execFile);
const ROOT = join(import.meta.dirname, '..', '..');
const DOC = readFileSync(join(ROOT, 'examples', 'curl.md'), 'utf8');

/** curl.md names jq as what its commands need; without jq or curl there is nothing to run. */
function has(tool: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
const TOOLS = has('curl') && has('jq') && has('bash');
if (!TOOLS) console.warn('curl.md walkthrough SKIPPED: it needs bash, curl and jq');

const MARK = '=====end of block=====';

/** The top-level JSON values of a text that holds several one after another (jq's output). */
function jsonValues(text: string): any[] {
  const values: unknown[] = [];
  let depth = 0;
  let start = -1;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') {
        inString = false;
        if (depth === 0) values.push(JSON.parse(text.slice(start, i + 1)));
      }
    } else if (c === '"') {
      inString = true;
      if (depth === 0) start = i;
    } else if (c === '{' || c === '[') {
      if (depth++ === 0) start = i;
    } else if (c === '}' || c === ']') {
      if (--depth === 0) values.push(JSON.parse(text.slice(start, i + 1)));
    }
  }
  return values;
}

/** The ```bash blocks of examples/curl.md, in order. */
const blocks = [...DOC.matchAll(/```bash\n([\s\S]*?)```/g)].map((m) => m[1]!);

/**
 * examples/curl.md, steps 2 to 5, run as written by bash (one shell, as a reader pastes them) against
 * a real server whose `openai` provider is the fake upstream: the seed's request as shown, the proxied
 * call, the scheduler, the reward sent twice, the job read back, then pause, resume and cancel. Step 1
 * (starting a server and making a key) is this test's setup; only the documented address is swapped
 * for the test server's.
 */
describe.skipIf(!TOOLS)('examples/curl.md, run as written', () => {
  let fake: FakeUpstream;
  let t: TestServer;
  useFakeUpstreamServer({ upstream: { reply: 'card_lost' } }, (s) => ({ fake, t } = s));

  it('answers every step with what the page shows', async () => {
    // Block 0 starts the server and block 1 makes a key: the test server and its key stand in for them.
    expect(blocks).toHaveLength(9);
    expect(blocks[0]).toMatch(/npx miprox serve/);
    expect(blocks[1]).toMatch(/keys create/);
    // One shell, as a reader pastes the blocks; a marker after each block tells their outputs apart.
    const script = ['set -euo pipefail', ...blocks.slice(2).map((b) => `${b}\necho; echo ${MARK}`)].join('\n').replaceAll('http://127.0.0.1:8700', t.url);
    const { stdout } = await run('bash', ['-c', script], { env: { ...process.env, MIPROX_API_KEY: t.key }, cwd: ROOT, timeout: 60_000 });
    const [setup, create, call, scheduler, reward, read, more] = stdout.split(`${MARK}\n`);
    expect(setup?.trim()).toBe('');

    // 2. The job: the jq projection the page prints.
    const [job] = jsonValues(create!);
    expect(job).toMatchObject({ job_id: expect.stringMatching(/^pl_/), status: 'running', session_id: expect.stringMatching(/^sys_/) });
    expect(job.proxy_url).toBe(`${t.url}/api/mipro/v1/${job.session_id}`);

    // 3. The proxied call: the provider's body unchanged, with the two headers the page names.
    const [head, body] = call!.split('\r\n\r\n');
    expect(head).toMatch(/^HTTP\/1\.1 200/);
    expect(head).toMatch(/^x-mipro-candidate-id: baseline$/m);
    expect(head).toMatch(/^x-mipro-rollout-id: rollout-\d+$/m);
    expect(jsonValues(body!)[0].choices[0].message.content).toBe('card_lost');
    expect(fake.requests.map((r) => (r.body as { model?: string }).model)).toEqual(['gpt-4o-mini']);

    // The scheduler's answer: the fields of the page's comment.
    const [rollout] = jsonValues(scheduler!);
    expect(rollout).toMatchObject({ rollout_id: expect.stringMatching(/^ro_/), seed: 0, split: 'bootstrap' });
    expect(rollout.inference_url).toBe(`${job.proxy_url}/${rollout.rollout_id}`);
    expect(rollout.chat_completions_url).toBe(`${rollout.inference_url}/chat/completions`);

    // 4. The reward: the answer the page's comment shows.
    expect(jsonValues(reward!)).toEqual([expect.objectContaining({ status: 'ok', rollout_id: expect.stringMatching(/^rollout-/), candidate_id: 'baseline', reward: 1, duplicate: false })]);

    // 5. The job read back with the fields the page asks jq for.
    expect(jsonValues(read!)).toEqual([{
      status: 'running', rollout_count: 2, reward_count: 1, best_score: 1, best_score_ci: [0, 1], best_score_source: 'online',
      best_candidate_id: 'baseline', best_prompt: "Classify the customer's banking query into an intent.",
    }]);
    // Then candidates, events, pause, resume, cancel.
    const values = jsonValues(more!);
    expect(values[0]).toEqual({ candidate_id: 'baseline', status: 'active', rollout_count: 2, avg_reward: 1, ci: [0, 1] });
    expect(values.filter(Array.isArray).map((e) => e[1])).toEqual(expect.arrayContaining(['mipro.job.status', 'mipro.rollout.started', 'mipro.reward.received']));
    expect(values.slice(-3)).toEqual(['paused', 'running', 'cancelled']);
  });
});
