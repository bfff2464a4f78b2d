import { afterEach, describe, expect, it, vi } from 'vitest';
import { finalSummary, watchJob } from '../../src/cli/jobWatch.js';
import { MiproJobsClient } from '../../src/sdk/index.js';
import { type ScriptedServer, fakeJob, startScriptedServer } from '../sdk/helpers.js';

/** Captures what the watcher draws; `isTTY` decides between the live display and plain lines. */
function fakeStream(isTTY: boolean, columns = 160) {
  let text = '';
  const stream = { isTTY, columns, write: (s: string) => ((text += s), true) };
  return { stream: stream as unknown as NodeJS.WriteStream, text: () => text };
}

const progress = [
  fakeJob({ rollout_count: 0, max_rollouts: 10 }),
  fakeJob({ rollout_count: 5, reward_count: 4, best_score: 0.5, best_score_ci: [0.2, 0.8], best_score_source: 'online', max_rollouts: 10 }),
  fakeJob({ rollout_count: 12, reward_count: 10, best_score: 0.75, best_score_ci: [0.5, 0.9], best_score_source: 'val', status: 'succeeded', max_rollouts: 10 }),
];

describe('jobs watch display', () => {
  let s: ScriptedServer | undefined;
  afterEach(async () => {
    vi.unstubAllEnvs();
    await s?.close();
    s = undefined;
  });

  // max_rollouts budgets rewards (the job ends at that many), so the bar and the lines count rewards
  // against it: 12 rollouts of which 10 were rewarded end a 10-reward job.
  it('draws a progress bar on a terminal when the job has a reward budget', async () => {
    s = await startScriptedServer(progress.map((body) => ({ status: 200, body })));
    const out = fakeStream(true);
    const job = await watchJob(new MiproJobsClient({ backendUrl: s.url }), 'pl_0123', { pollMs: 10, json: false, stream: out.stream, signal: new AbortController().signal });
    expect(job?.status).toBe('succeeded');
    expect(out.text()).toContain('10/10 rewards | succeeded | rollouts 12 | best 0.750 [0.500, 0.900] val');
    expect(out.text()).toMatch(/█+/);
    expect(finalSummary(job!)).toBe('job pl_0123 succeeded: best 0.750 [0.500, 0.900] val after 12 rollouts, 10 rewards, 0 proposals');
  });

  // The live line of a job without a budget is rewritten in place (\r, erase line): wider than the
  // terminal it wrapped, and every update left its first rows on the screen.
  it('keeps the live line within the terminal, and whole when not on one', async () => {
    const long = fakeJob({ rollout_count: 1234, reward_count: 1200, best_score: 0.712, best_score_ci: [0.65, 0.77], best_score_source: 'online', candidate_count: 12, proposal_seq: 5, failed_proposals: 2, status: 'succeeded' });
    vi.stubEnv('COLUMNS', ''); // the width is the terminal's, not the one of the shell running the tests
    s = await startScriptedServer([{ status: 200, body: long }]);
    const tty = fakeStream(true, 60);
    await watchJob(new MiproJobsClient({ backendUrl: s.url }), 'pl_0123', { pollMs: 10, json: false, stream: tty.stream, signal: new AbortController().signal });
    const drawn = tty.text().split('\r\x1b[2K').filter((l) => l !== '').map((l) => l.replace(/\n$/, ''));
    expect(drawn).toEqual([expect.stringMatching(/^succeeded \| rollouts 1234 \| rewards 1200 \| best 0\.712 .*…$/)]);
    expect(drawn[0]!.length).toBe(59);
    await s.close();
    s = await startScriptedServer([{ status: 200, body: long }]);
    const piped = fakeStream(false, 60);
    await watchJob(new MiproJobsClient({ backendUrl: s.url }), 'pl_0123', { pollMs: 10, json: false, stream: piped.stream, signal: new AbortController().signal });
    expect(piped.text()).toBe('succeeded | rollouts 1234 | rewards 1200 | best 0.712 [0.650, 0.770] online | candidates 12 | proposals 5 (2 failed)\n');
  });

  it('prints one line per change when not on a terminal, and JSON lines with --json', async () => {
    s = await startScriptedServer([progress[0]!, progress[0]!, progress[1]!, progress[2]!].map((body) => ({ status: 200, body })));
    const out = fakeStream(false);
    await watchJob(new MiproJobsClient({ backendUrl: s.url }), 'pl_0123', { pollMs: 10, json: false, stream: out.stream, signal: new AbortController().signal });
    expect(out.text().trim().split('\n')).toEqual([
      'running | rollouts 0 | rewards 0/10 | best - | proposals 0',
      'running | rollouts 5 | rewards 4/10 | best 0.500 [0.200, 0.800] online | proposals 0',
      'succeeded | rollouts 12 | rewards 10/10 | best 0.750 [0.500, 0.900] val | proposals 0',
    ]);
    await s.close();
    s = await startScriptedServer(progress.map((body) => ({ status: 200, body })));
    const json = fakeStream(false);
    await watchJob(new MiproJobsClient({ backendUrl: s.url }), 'pl_0123', { pollMs: 10, json: true, stream: json.stream, signal: new AbortController().signal });
    expect(json.text().trim().split('\n').map((l) => (JSON.parse(l) as { rollout_count: number }).rollout_count)).toEqual([0, 5, 12]);
  });

  /** It ended with "cannot reach miprox ..." (exit 1) at the first restart of the server it watched. */
  it('goes on watching through 503s and a refused connection, says so once on its notices, and still ends on a 404', async () => {
    const unavailable = { status: 503, body: { error: { code: 'database_unavailable', message: 'the database is unavailable; retry shortly' } } };
    // The SDK retries a GET twice itself: five 503s in a row outlast those retries.
    const ok = (body: unknown) => ({ status: 200, body });
    s = await startScriptedServer([ok(progress[0]), ...Array(5).fill(unavailable), ok(progress[1]), ok(progress[2])]);
    const out = fakeStream(false);
    const notices = fakeStream(false);
    const job = await watchJob(new MiproJobsClient({ backendUrl: s.url }), 'pl_0123', { pollMs: 10, json: false, stream: out.stream, signal: new AbortController().signal, notices: notices.stream });
    expect(job?.status).toBe('succeeded');
    expect(out.text().trim().split('\n')).toHaveLength(3);
    expect(notices.text()).toBe('miprox: the database is unavailable; retry shortly (still watching; Ctrl-C stops)\nmiprox: the server answers again; watching job pl_0123\n');

    // The server gone altogether for a while (a restart), then back on the same port.
    const { port } = new URL(s.url);
    await s.close();
    const down = fakeStream(false);
    const watching = watchJob(new MiproJobsClient({ backendUrl: `http://127.0.0.1:${port}`, maxRetries: 0 }), 'pl_0123', { pollMs: 20, json: false, stream: fakeStream(false).stream, signal: new AbortController().signal, notices: down.stream });
    await new Promise((r) => setTimeout(r, 150));
    expect(down.text()).toMatch(/^miprox: cannot reach .* \(still watching; Ctrl-C stops\)\n$/);
    s = await startScriptedServer([{ status: 200, body: progress[2]! }], Number(port));
    expect((await watching)?.status).toBe('succeeded');

    // Not passing: the job is gone.
    await s.close();
    s = await startScriptedServer([{ status: 404, body: { error: { code: 'not_found', message: 'job pl_0123 not found' } } }]);
    await expect(watchJob(new MiproJobsClient({ backendUrl: s.url }), 'pl_0123', { pollMs: 10, json: false, stream: fakeStream(false).stream, signal: new AbortController().signal, notices: fakeStream(false).stream })).rejects.toThrow('job pl_0123 not found');
  });
});
