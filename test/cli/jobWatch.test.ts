import { afterEach, describe, expect, it } from 'vitest';
import { finalSummary, watchJob } from '../../src/cli/jobWatch.js';
import { MiproJobsClient } from '../../src/sdk/index.js';
import { type ScriptedServer, fakeJob, startScriptedServer } from '../sdk/helpers.js';

/** Captures what the watcher draws; `isTTY` decides between the live display and plain lines. */
function fakeStream(isTTY: boolean) {
  let text = '';
  const stream = { isTTY, columns: 160, write: (s: string) => ((text += s), true) };
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
});
