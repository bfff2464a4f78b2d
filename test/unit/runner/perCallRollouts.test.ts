import { describe, expect, it } from 'vitest';
import { JobRuntime } from '../../../src/optimizer/runner/jobRuntime.js';
import { PerCallRollouts } from '../../../src/optimizer/runner/perCallRollouts.js';
import { type Logger, silentLogger } from '../../../src/shared/logger.js';
import { JobGoneError } from '../../../src/shared/errors.js';
import type { JobRecord, NewEvent, Store } from '../../../src/store/types.js';
import { sampleConfig } from '../../store/storeContract.js';

const job = (status = 'running') => ({ id: 'pl_x', status, config: sampleConfig }) as unknown as JobRecord;

/** A store whose appendEvent fails as often as asked, then records. */
function flakyStore(failures: number, failure: () => Error = () => new Error('database unavailable')) {
  const recorded: NewEvent[] = [];
  let calls = 0;
  const store = {
    appendEvent: async (_jobId: string, event: NewEvent) => {
      calls += 1;
      if (calls <= failures) throw failure();
      recorded.push(event);
      return recorded.length;
    },
  } as unknown as Store;
  return { store, recorded };
}

function warningLog(): { log: Logger; warnings: string[] } {
  const warnings: string[] = [];
  return { log: { ...silentLogger, warn: (_obj: object | string, msg?: string) => void warnings.push(msg ?? '') }, warnings };
}

describe('PerCallRollouts.note (calls of a program without a rollout id)', () => {
  it('reports once, when calls of a second module came so, naming both', async () => {
    const { store, recorded } = flakyStore(0);
    const notes = new PerCallRollouts({ store, log: silentLogger });
    const rt = new JobRuntime(job());
    // One module's calls alone may be runs of one call each: nothing to say yet, and no promise made.
    expect([notes.note(rt, 'extract'), notes.note(rt, 'extract')]).toEqual([undefined, undefined]);
    await notes.note(rt, 'answer');
    for (const m of ['extract', 'answer', 'retrieve']) expect(notes.note(rt, m)).toBeUndefined();
    expect(recorded.map((e) => [e.eventType, e.data])).toEqual([['mipro.rollout.per_call', { modules: ['extract', 'answer'] }]]);
  });

  it('leaves an ended job alone: every new rollout gets the one candidate it serves', () => {
    const { store, recorded } = flakyStore(0);
    const notes = new PerCallRollouts({ store, log: silentLogger });
    const rt = new JobRuntime(job('succeeded'));
    expect([notes.note(rt, 'extract'), notes.note(rt, 'answer')]).toEqual([undefined, undefined]);
    expect(recorded).toEqual([]);
  });

  it('tries again on a later call when the event could not be written, and says so in the log', async () => {
    const { store, recorded } = flakyStore(1);
    const { log, warnings } = warningLog();
    const notes = new PerCallRollouts({ store, log });
    const rt = new JobRuntime(job());
    notes.note(rt, 'extract');
    await notes.note(rt, 'answer');
    expect(warnings).toEqual([expect.stringContaining('calls without a rollout id not reported')]);
    notes.note(rt, 'answer');
    await notes.note(rt, 'extract');
    expect(recorded.map((e) => e.data)).toEqual([{ modules: ['answer', 'extract'] }]);
  });

  it('says nothing when the job was deleted meanwhile', async () => {
    const { store, recorded } = flakyStore(1, () => new JobGoneError());
    const { log, warnings } = warningLog();
    const notes = new PerCallRollouts({ store, log });
    const rt = new JobRuntime(job());
    notes.note(rt, 'extract');
    await notes.note(rt, 'answer');
    expect([recorded, warnings]).toEqual([[], []]);
  });
});
