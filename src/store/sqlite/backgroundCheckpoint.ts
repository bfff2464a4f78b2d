import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type BetterSqlite3 from 'better-sqlite3';

/**
 * WAL checkpoints off the event loop. SQLite's automatic checkpoint runs inside whichever commit
 * crosses the threshold and fsyncs the database file there: measured on this machine, one commit in
 * ~300 then blocked the event loop for 5-150 ms (p99.9 of commits 9 ms), which every in-flight proxied
 * call paid. Here the server's connection never checkpoints; a worker thread with its own connection
 * runs PASSIVE checkpoints (they never block writers) every `intervalMs`. If the worker fails, the
 * connection goes back to automatic checkpoints, so the WAL never grows without bound.
 *
 * A checkpoint that fails (an I/O error, a full disk, a database file made immutable) is reported and
 * tried again at the next interval: the worker used to die of it, and the server then checkpointed on
 * the event loop for good, although the fault was gone a moment later (the server's own writes meet
 * the same fault and answer 503 meanwhile, see unavailable.ts).
 */
export interface BackgroundCheckpoint {
  stop(): Promise<void>;
}

const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.modulePath);
const db = new Database(workerData.path);
db.pragma('busy_timeout = 5000');
db.pragma('synchronous = NORMAL');
let failing = false;
const checkpoint = () => {
  try {
    db.pragma('wal_checkpoint(PASSIVE)');
    failing = false;
  } catch (err) {
    if (!failing) parentPort.postMessage({ failed: { code: err.code, message: err.message } });
    failing = true;
  }
};
const timer = setInterval(checkpoint, workerData.intervalMs);
parentPort.on('message', () => {
  clearInterval(timer);
  db.close();
  parentPort.close();
});
`;

/** What `onError` is told, beside the error: whether the connection went back to automatic checkpoints. */
export const CHECKPOINT_WORKER_DIED = 'background WAL checkpoints failed; back to automatic checkpoints';
export const CHECKPOINT_FAILED = 'a background WAL checkpoint failed; trying again (the WAL grows meanwhile)';

export function startBackgroundCheckpoint(
  sqlite: BetterSqlite3.Database, path: string, onError: (err: Error, what: string) => void, intervalMs = 250,
): BackgroundCheckpoint {
  const modulePath = createRequire(import.meta.url).resolve('better-sqlite3');
  sqlite.pragma('wal_autocheckpoint = 0');
  const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { modulePath, path, intervalMs } });
  worker.unref();
  let stopped = false;
  const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
  worker.once('error', (err) => {
    if (stopped) return;
    sqlite.pragma('wal_autocheckpoint = 1000'); // SQLite's default
    onError(err, CHECKPOINT_WORKER_DIED);
  });
  // Once per run of failures (the first one), not every interval.
  worker.on('message', (m: { failed?: { code?: string; message: string } }) => {
    if (m.failed) onError(Object.assign(new Error(m.failed.message), { code: m.failed.code }), CHECKPOINT_FAILED);
  });
  return {
    // The server's own connection checkpoints the rest when it closes (SQLite does on last close).
    async stop() {
      if (stopped) return;
      stopped = true;
      worker.postMessage('stop');
      // A checkpoint is one native call and cannot be interrupted; never let closing wait on it for long.
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), 2_000)));
      if ((await Promise.race([exited, late])) === 'late') void worker.terminate();
      clearTimeout(timer);
    },
  };
}
