import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SyncGroupCommitter } from '../../src/store/sqlite/syncGroupCommit.js';
import { WriteLockWait } from '../../src/store/sqlite/writeLockWait.js';

describe('SyncGroupCommitter (SQLite hot-path group commit)', () => {
  let writer: BetterSqlite3.Database;
  let reader: BetterSqlite3.Database;
  beforeEach(() => {
    const path = join(mkdtempSync(join(tmpdir(), 'miprox-sgc-')), 'g.db');
    writer = new BetterSqlite3(path);
    writer.pragma('journal_mode = WAL');
    writer.exec('create table t (k text primary key)');
    // The data_version of another connection moves once per commit made by someone else.
    reader = new BetterSqlite3(path);
  });
  afterEach(() => {
    writer.close();
    reader.close();
  });
  const version = () => reader.pragma('data_version', { simple: true }) as number;
  const rows = () => (reader.prepare('select k from t order by k').all() as Array<{ k: string }>).map((r) => r.k);
  const insert = (k: string) => () => writer.prepare('insert into t values (?)').run(k).changes;

  it('fails the whole batch with the real error when a unit rolls back the transaction (disk full)', async () => {
    const g = new SyncGroupCommitter(writer);
    const pages = writer.pragma('page_count', { simple: true }) as number;
    writer.pragma(`max_page_count = ${pages}`); // the file may not grow: SQLITE_FULL, as on a full disk
    const big = () => writer.prepare('insert into t values (?)').run('x'.repeat(64 * 1024)).changes;
    const results = await Promise.allSettled([g.run(insert('before')), g.run(big), g.run(insert('after'))]);
    writer.pragma('max_page_count = 1073741823');
    for (const r of results) expect(r).toMatchObject({ status: 'rejected', reason: { code: 'SQLITE_FULL' } });
    // No unit committed on its own after SQLite rolled the transaction back.
    expect(rows()).toEqual([]);
    expect(await g.run(insert('later'))).toBe(1);
    expect(rows()).toEqual(['later']);
  });

  it('waits for a write lock another connection holds without blocking the event loop, and gives up once it is held too long', async () => {
    writer.pragma('busy_timeout = 0'); // as the store's connection: no busy handler sleeping on the event loop
    const g = new SyncGroupCommitter(writer, { lock: new WriteLockWait(300) });
    reader.exec('begin immediate');
    const queued = g.run(insert('waited'));
    let ticks = 0;
    const ticker = setInterval(() => ticks++, 10);
    await new Promise((r) => setTimeout(r, 150));
    expect(ticks).toBeGreaterThan(5); // the event loop kept turning while the write waited
    reader.exec('rollback');
    expect(await queued).toBe(1);
    reader.exec('begin immediate');
    const start = Date.now();
    await expect(g.run(insert('refused'))).rejects.toMatchObject({ code: 'SQLITE_BUSY' });
    expect(Date.now() - start).toBeGreaterThanOrEqual(250);
    await expect(g.run(insert('at once'))).rejects.toMatchObject({ code: 'SQLITE_BUSY' }); // the lock is still held too long
    clearInterval(ticker);
    reader.exec('rollback');
    expect(await g.run(insert('after'))).toBe(1);
    expect(rows()).toEqual(['after', 'waited']);
  });

  it('commits writes queued in one turn together, and answers each only after the commit', async () => {
    const g = new SyncGroupCommitter(writer);
    const v0 = version();
    const acks = [g.run(insert('a')), g.run(insert('b')), g.run(insert('c'))];
    expect(rows()).toEqual([]); // nothing is written before the next turn
    expect(await Promise.all(acks)).toEqual([1, 1, 1]);
    expect(rows()).toEqual(['a', 'b', 'c']);
    expect(version() - v0).toBe(1);
  });

  it('lets a lazy write ride with the next urgent batch, or commit alone after lazyMs', async () => {
    const g = new SyncGroupCommitter(writer, { lazyMs: 50 });
    const v0 = version();
    const lazy = g.runLazy(insert('lazy'));
    await new Promise((r) => setTimeout(r, 5));
    expect(rows()).toEqual([]); // still waiting for company
    await g.run(insert('urgent'));
    await lazy;
    expect(rows()).toEqual(['lazy', 'urgent']);
    expect(version() - v0).toBe(1);

    const alone = g.runLazy(insert('alone'));
    const started = Date.now();
    await alone;
    expect(Date.now() - started).toBeGreaterThanOrEqual(40);
    expect(rows()).toContain('alone');
  });

  it('rolls back only the unit that throws', async () => {
    const g = new SyncGroupCommitter(writer);
    const results = await Promise.allSettled([g.run(insert('x')), g.run(insert('x')), g.run(insert('y'))]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(rows()).toEqual(['x', 'y']);
  });

  it('fails only its own caller when a one-statement unit (runStatement, no savepoint) throws', async () => {
    const g = new SyncGroupCommitter(writer);
    writer.exec('create table m (k text primary key, n integer not null)');
    // A multi-row insert that fails on its second row: SQLite undoes the whole statement by itself.
    const two = (a: string, b: string) => () => writer.prepare('insert into m values (?, 1), (?, 1)').run(a, b).changes;
    const results = await Promise.allSettled([g.runStatement(two('p', 'q')), g.runStatement(two('r', 'p')), g.run(insert('z'))]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect((writer.prepare('select k from m order by k').all() as Array<{ k: string }>).map((r) => r.k)).toEqual(['p', 'q']);
    expect(rows()).toEqual(['z']);
  });

  it('drain commits what is queued at once (before the connection closes)', () => {
    const g = new SyncGroupCommitter(writer, { lazyMs: 10_000 });
    void g.runLazy(insert('pending'));
    g.drain();
    expect(rows()).toEqual(['pending']);
  });
});
