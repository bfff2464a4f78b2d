import { describe, expect, it } from 'vitest';
import { dashboardHint, printSummary } from '../../../src/cli/demoCommand.js';
import type { DemoResult } from '../../../src/demo/runDemo.js';

/**
 * `miprox demo` printed the best and the baseline instruction (the proposer model's text, with
 * --provider openai a real model's) raw: an escape sequence in it reached the terminal, against the
 * README's "no terminal escape sequence from a client or a model reaches your terminal".
 */
describe('miprox demo: the summary', () => {
  it('shows control characters of the instructions as U+FFFD', () => {
    const scored = (candidateId: string, instruction: string) => ({ candidateId, instruction, valScore: 0.5, valCi: [0.4, 0.6] as [number, number], valCount: 50, onlineScore: 0.5, onlineCount: 10 });
    const result = {
      sessionId: 'sys_1', jobId: 'pl_1', rollouts: 10, candidates: [],
      status: { status: 'succeeded', proposal_seq: 1, lift_over_baseline: null },
      best: scored('cand_1', 'Classify.\u001b]52;c;ZXZpbA==\u0007 Then \u009b2J answer.'),
      baseline: scored('baseline', 'Base\u001b[2J line.'),
    } as unknown as DemoResult;
    let out = '';
    printSummary(result, 'http://127.0.0.1:1', 'the demo key', false, 'http://127.0.0.1:8700/', (s) => (out += s));
    expect(out).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/);
    expect(out).toContain('Classify.\ufffd]52;c;ZXZpbA==\ufffd Then \ufffd2J answer.');
    expect(out).toContain('"Base\ufffd[2J line."');
  });
});

/**
 * The closing hint said "run `npm start` (same database)": that is the checkout's script only. In a
 * project that installed miprox, `npm start` is the project's own app (or "Missing script"), and after
 * `miprox demo --port N` it listened on PORT or 8700, not on the N the hint's URL named.
 */
describe('miprox demo: the dashboard hint', () => {
  const config = (port: number) => ({ port, host: '127.0.0.1', publicUrl: undefined }) as unknown as Parameters<typeof dashboardHint>[0];

  it('names the miprox command, which works in a checkout and in a project that installed miprox', () => {
    expect(dashboardHint(config(8700), undefined)).toBe('run `npx miprox serve` (same database) and open http://127.0.0.1:8700/');
  });

  it('carries the demo\'s --port to the command, so the server listens where the URL says', () => {
    expect(dashboardHint(config(9123), '9123')).toBe('run `npx miprox serve --port 9123` (same database) and open http://127.0.0.1:9123/');
  });

  it('is the summary\'s dashboard line', () => {
    const result = { sessionId: 'sys_1', jobId: 'pl_1', rollouts: 1, candidates: [], status: { status: 'succeeded', proposal_seq: 0 }, best: null, baseline: null } as unknown as DemoResult;
    let out = '';
    printSummary(result, 'http://127.0.0.1:1', 'the demo key', false, dashboardHint(config(9123), '9123'), (s) => (out += s));
    expect(out).toContain('\nDashboard: run `npx miprox serve --port 9123` (same database) and open http://127.0.0.1:9123/ (job pl_1), or rerun with --keep-serving\n');
    expect(out).not.toContain('npm start');
  });
});
