import { describe, expect, it } from 'vitest';
import { rolloutView } from '../../../src/api/views.js';
import type { CandidateRecord, ModuleRecord, RolloutCallRecord, RolloutRecord } from '../../../src/store/types.js';

/**
 * A rollout view rebuilds each call's served system text from the job's program. The program was
 * compiled (every declared template parsed, up to 100,000 characters each) once per call: a rollout
 * of 256 calls over ten 88 KB templates held the event loop, which the proxy shares, for 1.6 s per
 * GET (and the dashboard's rollout page reads it again on every Refresh). Once per view is enough.
 */
describe('rolloutView', () => {
  /** The view of a rollout of `n` calls, and how often the job's templates were read to build it. */
  function viewOf(n: number) {
    let templateReads = 0;
    const modules: ModuleRecord[] = Array.from({ length: 3 }, (_, i) => {
      const m = { name: `m${i}`, ordinal: i, origin: 'declared' as const } as ModuleRecord;
      // Compiling the program reads each module's template.
      Object.defineProperty(m, 'template', { enumerable: true, get: () => (templateReads++, `Module ${i} for {topic}.`) });
      return m;
    });
    const calls: RolloutCallRecord[] = Array.from({ length: n }, (_, i) => ({
      rolloutId: 'r1', seq: i + 1, module: `m${i % 3}`, inputMessages: [{ role: 'user', content: 'q' }], variables: { topic: `t${i}` },
      outputText: 'a', toolCalls: 0, failed: false, createdAt: '2026-12-06T00:00:00.000Z', ownSystemText: false,
    }));
    const candidate = { id: 'baseline', instructions: {}, demos: {} } as unknown as CandidateRecord;
    const rollout = {
      id: 'r1', candidateId: 'baseline', seed: null, split: 'online', status: 'completed', reward: null, correlationId: null, callCount: n,
      createdAt: '2026-12-06T00:00:00.000Z', updatedAt: '2026-12-06T00:00:00.000Z',
    } as unknown as RolloutRecord;
    return { view: rolloutView(rollout, calls, candidate, modules), templateReads };
  }

  it('compiles the job\'s program once per view, not once per call', () => {
    const many = viewOf(30);
    expect(many.view.calls.map((c) => c.system_prompt)).toEqual(Array.from({ length: 30 }, (_, i) => `Module ${i % 3} for t${i}.`));
    expect(many.templateReads).toBe(viewOf(1).templateReads);
  });
});
