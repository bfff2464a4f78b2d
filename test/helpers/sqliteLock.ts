import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';

const BETTER_SQLITE3 = createRequire(import.meta.url).resolve('better-sqlite3');

/** The lock holder: opens the file, takes the write lock, says so, and lets go when told (a line on stdin). */
const HOLDER = `
const Database = require(process.argv[1]);
const db = new Database(process.argv[2]);
db.pragma('busy_timeout = 10000');
db.exec('begin exclusive');
process.stdout.write('locked\\n');
process.stdin.once('data', () => {
  db.exec('rollback');
  db.close();
  process.exit(0);
});
`;

export interface HeldLock {
  /** Lets go of the lock and waits for the holder to exit. */
  release(): Promise<void>;
}

/**
 * Another process holding SQLite's write lock on `path` (BEGIN EXCLUSIVE, as a `sqlite3` shell or a
 * script would) until `release`: the server's writes meet SQLITE_BUSY meanwhile.
 */
export async function holdWriteLock(path: string): Promise<HeldLock> {
  const proc = spawn(process.execPath, ['-e', HOLDER, BETTER_SQLITE3, path], { stdio: ['pipe', 'pipe', 'inherit'] });
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    proc.stdout.on('data', (d: Buffer) => {
      if (d.toString().includes('locked')) resolve();
    });
    proc.once('exit', (code) => reject(new Error(`the lock holder exited with ${code} before taking the lock`)));
  });
  return {
    async release() {
      proc.stdin.end('release\n');
      await exited;
    },
  };
}
