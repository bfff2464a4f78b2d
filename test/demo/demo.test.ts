import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/childServer.js';

describe('miprox demo (offline, the README main command)', () => {
  it('runs to completion and the best prompt beats the baseline on held-out val seeds', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'miprox-demo-'));
    // LOG_LEVEL=info makes the server log: the logs must go to stderr, stdout is the JSON result.
    const res = await runCli(['demo', '--json', '--rollouts', '400', '--port', '0'], { DATABASE_URL: join(dir, 'demo.db'), MIPROX_API_KEY: '', LOG_LEVEL: 'info' });
    expect(res.code, res.stderr).toBe(0);
    const out = JSON.parse(res.stdout);
    expect(out.status).toBe('succeeded');
    expect(out.proposals).toBeGreaterThan(0);
    expect(out.candidates).toBeGreaterThan(1);
    expect(out.best.candidateId).not.toBe('baseline');
    // Both measured on the same held-out seeds, never seen by the proposer.
    expect(out.baseline.valCount).toBeGreaterThanOrEqual(50);
    expect(out.best.valCount).toBeGreaterThanOrEqual(50);
    expect(out.best.valScore).toBeGreaterThan(out.baseline.valScore);
    // And not by luck: the lift's interval excludes zero.
    expect(out.lift_over_baseline.significant).toBe(true);
    expect(out.lift_over_baseline.ci[0]).toBeGreaterThan(0);
    expect(out.best_score_source).toBe('val');
  }, 180_000);

  it('explains a bad flag in one line', async () => {
    const res = await runCli(['demo', '--provider', 'openai'], { DATABASE_URL: join(tmpdir(), 'unused.db') });
    expect(res.code).toBe(1);
    expect(res.stderr.trim()).toBe('miprox: --model is required with --provider openai (e.g. --model gpt-4o-mini)');
  });
});
