import { describe, expect, it } from 'vitest';
import { compileModules } from '../../../src/optimizer/core/modules.js';
import { JobRuntime } from '../../../src/optimizer/runner/jobRuntime.js';
import { ModuleRouter } from '../../../src/optimizer/runner/moduleRouter.js';
import { silentLogger } from '../../../src/shared/logger.js';
import type { JobRecord, NewEvent, Store } from '../../../src/store/types.js';
import { sampleConfig } from '../../store/storeContract.js';

const job = { id: 'pl_x', config: { ...sampleConfig, modules: [{ name: 'answer', template: 'Answer.' }] } } as unknown as JobRecord;

/** A store whose recordUnmatched fails as often as asked, then records. */
function flakyStore(failures: number) {
  const recorded: string[] = [];
  let calls = 0;
  const store = {
    recordUnmatched: async (_jobId: string, hash: string, event: NewEvent | (() => NewEvent)) => {
      calls += 1;
      if (calls <= failures) throw new Error('database unavailable');
      recorded.push(hash);
      void (typeof event === 'function' ? event() : event);
      return true;
    },
  } as unknown as Store;
  return { store, recorded, calls: () => calls };
}

describe('ModuleRouter.noteUnmatched', () => {
  const runtime = () => {
    const rt = new JobRuntime(job);
    rt.modules = compileModules([{ name: 'answer', template: 'Answer.', ordinal: 0, origin: 'declared' }]);
    return rt;
  };

  it('reports a distinct text once', async () => {
    const { store, recorded, calls } = flakyStore(0);
    const router = new ModuleRouter({ store, log: silentLogger });
    const rt = runtime();
    for (let i = 0; i < 3; i++) await router.noteUnmatched(rt, 'Another prompt.');
    expect([calls(), recorded.length]).toEqual([1, 1]);
  });

  it('tries again on the next call when the report could not be written, short and long texts alike', async () => {
    for (const text of ['Another prompt.', 'x'.repeat(5000)]) {
      const { store, recorded, calls } = flakyStore(1);
      const router = new ModuleRouter({ store, log: silentLogger });
      const rt = runtime();
      await expect(router.noteUnmatched(rt, text)).rejects.toThrow('database unavailable');
      await router.noteUnmatched(rt, text);
      await router.noteUnmatched(rt, text);
      expect([calls(), recorded.length]).toEqual([2, 1]);
    }
  });
});
