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
const checkpoint = () => db.pragma('wal_checkpoint(PASSIVE)');
const timer = setInterval(checkpoint, workerData.intervalMs);
parentPort.on('message', () => {
  clearInterval(timer);
  db.close();
  parentPort.close();
});
`;

export function startBackgroundCheckpoint(sqlite: BetterSqlite3.Database, path: string, onError: (err: Error) => void, intervalMs = 250): BackgroundCheckpoint {
  const modulePath = createRequire(import.meta.url).resolve('better-sqlite3');
  sqlite.pragma('wal_autocheckpoint = 0');
  const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { modulePath, path, intervalMs } });
  worker.unref();
  let stopped = false;
  const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
  worker.once('error', (err) => {
    if (stopped) return;
    sqlite.pragma('wal_autocheckpoint = 1000'); // SQLite's default
    onError(err);
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
