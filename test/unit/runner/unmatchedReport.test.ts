import { describe, expect, it } from 'vitest';
import { compileModules } from '../../../src/optimizer/core/modules.js';
import { JobRuntime } from '../../../src/optimizer/runner/jobRuntime.js';
import { ModuleRouter } from '../../../src/optimizer/runner/moduleRouter.js';
import { type Logger, silentLogger } from '../../../src/shared/logger.js';
import { JobGoneError } from '../../../src/shared/errors.js';
import type { JobRecord, NewEvent, Store } from '../../../src/store/types.js';
import { sampleConfig } from '../../store/storeContract.js';

const job = { id: 'pl_x', config: { ...sampleConfig, modules: [{ name: 'answer', template: 'Answer.' }] } } as unknown as JobRecord;

/** A store whose recordUnmatched fails as often as asked, then records. */
function flakyStore(failures: number, failure: () => Error = () => new Error('database unavailable')) {
  const recorded: string[] = [];
  let calls = 0;
  const store = {
    recordUnmatched: async (_jobId: string, hash: string, event: NewEvent | (() => NewEvent)) => {
      calls += 1;
      if (calls <= failures) throw failure();
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
      const { log, warnings } = warningLog();
      const router = new ModuleRouter({ store, log });
      const rt = runtime();
      await router.noteUnmatched(rt, text);
      // Said once, where an operator sees it: the call went on, nothing else tells the report is late.
      expect(warnings).toEqual([expect.stringContaining('unmatched system text not reported')]);
      await router.noteUnmatched(rt, text);
      await router.noteUnmatched(rt, text);
      expect([calls(), recorded.length, warnings.length]).toEqual([2, 1, 1]);
    }
  });

  it('says nothing when the job was deleted meanwhile', async () => {
    const { store, recorded } = flakyStore(1, () => new JobGoneError());
    const { log, warnings } = warningLog();
    await new ModuleRouter({ store, log }).noteUnmatched(runtime(), 'Another prompt.');
    expect([recorded.length, warnings]).toEqual([0, []]);
  });
});

function warningLog(): { log: Logger; warnings: string[] } {
  const warnings: string[] = [];
  return { log: { ...silentLogger, warn: (_obj: object | string, msg?: string) => void warnings.push(msg ?? '') }, warnings };
}
