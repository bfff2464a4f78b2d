import BetterSqlite3 from 'better-sqlite3';
import { Kysely, SqliteDialect, sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { GroupCommitter } from '../../src/store/groupCommit.js';

interface DB { t: { id: number; v: string } }

async function setup() {
  const db = new Kysely<DB>({ dialect: new SqliteDialect({ database: new BetterSqlite3(':memory:') }) });
  await sql`create table t (id integer primary key, v text not null)`.execute(db);
  return db;
}

describe('GroupCommitter', () => {
  it('runs the writes of one event-loop turn in one transaction and resolves each with its result', async () => {
    const db = await setup();
    const group = new GroupCommitter(db);
    let transactions = 0;
    const wrap = (i: number) => group.run('job', async (trx) => {
      const count = await sql<{ n: number }>`select count(*) as n from t`.execute(trx);
      if (i === 0) transactions++;
      await trx.insertInto('t').values({ id: i, v: `v${i}` }).execute();
      return `${i}:${count.rows[0]?.n}`;
    });
    const results = await Promise.all([0, 1, 2, 3].map(wrap));
    expect(results).toEqual(['0:0', '1:1', '2:2', '3:3']); // one after the other, same transaction
    expect(transactions).toBe(1);
    expect((await db.selectFrom('t').selectAll().execute()).length).toBe(4);
    await db.destroy();
  });

  it('locks the batch keys once each, in sorted order, before any work runs', async () => {
    const db = await setup();
    const calls: string[][] = [];
    const order: string[] = [];
    const group = new GroupCommitter<DB>(db, async (_trx, keys) => {
      calls.push(keys);
      order.push('lock');
    });
    await Promise.all(['job_b', 'job_a', 'job_b'].map((key, i) => group.run(key, async (trx) => {
      order.push(`work${i}`);
      await trx.insertInto('t').values({ id: i, v: key }).execute();
    })));
    expect(calls).toEqual([['job_a', 'job_b']]);
    expect(order).toEqual(['lock', 'work0', 'work1', 'work2']);
    await db.destroy();
  });

  it('fails only the write that throws: the batch rolls back and each write is retried alone', async () => {
    const db = await setup();
    const group = new GroupCommitter(db);
    let attempts = 0;
    const ok = group.run('job', (trx) => {
      attempts++;
      return trx.insertInto('t').values({ id: 1, v: 'a' }).execute();
    });
    const bad = group.run('job', (trx) => trx.insertInto('t').values({ id: 1, v: 'dup' }).execute());
    const after = group.run('job', (trx) => trx.insertInto('t').values({ id: 3, v: 'c' }).execute());
    await expect(ok).resolves.toBeDefined();
    await expect(bad).rejects.toThrow(/UNIQUE/);
    await expect(after).resolves.toBeDefined();
    expect(attempts).toBe(2); // once in the failed batch (rolled back), once alone
    expect((await db.selectFrom('t').selectAll().orderBy('id').execute()).map((r) => r.v)).toEqual(['a', 'c']);
    // The committer keeps working afterwards.
    await group.run('job', (trx) => trx.insertInto('t').values({ id: 2, v: 'b' }).execute());
    expect((await db.selectFrom('t').selectAll().execute()).map((r) => r.id).sort()).toEqual([1, 2, 3]);
    await db.destroy();
  });
});
