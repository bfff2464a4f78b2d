import { mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { CHECKPOINT_FAILED, startBackgroundCheckpoint } from '../../src/store/sqlite/backgroundCheckpoint.js';
import { canMakeImmutable, setImmutable } from '../helpers/immutableFile.js';

function openWal(path: string): BetterSqlite3.Database {
  const db = new BetterSqlite3(path);
  db.pragma('journal_mode = WAL');
  db.exec('create table blobs (b blob)');
  return db;
}

const waitFor = async (check: () => boolean, ms = 5_000) => {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
};

describe('background WAL checkpoints', () => {
  it('moves committed pages into the database file from a worker thread, never from the commit', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'miprox-ckpt-')), 'c.db');
    const db = openWal(path);
    const errors: Error[] = [];
    const ckpt = startBackgroundCheckpoint(db, path, (e) => errors.push(e), 50);
    try {
      expect(db.pragma('wal_autocheckpoint', { simple: true })).toBe(0);
      db.prepare('insert into blobs values (?)').run(Buffer.alloc(4 * 1024 * 1024, 7));
      // The commit itself did not checkpoint: the 4 MB are in the WAL only. (The file may already have
      // grown by the schema's page: the worker can checkpoint the create table at any moment.)
      expect(statSync(path).size).toBeLessThan(1024 * 1024);
      await waitFor(() => statSync(path).size >= 4 * 1024 * 1024);
    } finally {
      await ckpt.stop();
      db.close();
    }
    expect(errors).toEqual([]);
  });

  it.skipIf(!canMakeImmutable())('keeps checkpointing once a failed checkpoint\'s fault is gone (the worker used to die of it)', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'miprox-ckpt-')), 'c.db');
    const db = openWal(path);
    const errors: Array<{ err: Error; what: string }> = [];
    const ckpt = startBackgroundCheckpoint(db, path, (err, what) => errors.push({ err, what }), 50);
    try {
      // The worker is up (its connection opened the file for writing): the schema's pages were checkpointed.
      await waitFor(() => statSync(path).size >= 8192);
      // The database file may not be written, as on a failing disk: checkpoints fail, commits (to the WAL) do not.
      setImmutable(path, true);
      db.prepare('insert into blobs values (?)').run(Buffer.alloc(4 * 1024 * 1024, 7));
      await waitFor(() => errors.length > 0);
      expect(errors.map((e) => [e.what, (e.err as { code?: string }).code])).toEqual([[CHECKPOINT_FAILED, 'SQLITE_IOERR_WRITE']]);
      setImmutable(path, false);
      await waitFor(() => statSync(path).size >= 4 * 1024 * 1024);
      // Still the worker's job: the connection never went back to checkpointing inside its commits.
      expect(db.pragma('wal_autocheckpoint', { simple: true })).toBe(0);
      expect(errors).toHaveLength(1); // said once, not every 50 ms
    } finally {
      setImmutable(path, false);
      await ckpt.stop();
      db.close();
    }
  });

  it('falls back to automatic checkpoints when the worker fails', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'miprox-ckpt-')), 'c.db');
    const db = openWal(path);
    const errors: Error[] = [];
    // The worker cannot open this path, so it dies at once.
    const ckpt = startBackgroundCheckpoint(db, join(path, 'not-a-dir', 'x.db'), (e) => errors.push(e), 50);
    try {
      await waitFor(() => errors.length > 0);
      expect(db.pragma('wal_autocheckpoint', { simple: true })).toBe(1000);
    } finally {
      await ckpt.stop();
      db.close();
    }
  });
});
