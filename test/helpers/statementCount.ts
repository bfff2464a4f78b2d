import type { Kysely } from 'kysely';
import type { Store } from '../../src/store/types.js';

/**
 * Statements a KyselyStore sends through Kysely while `fn` runs: every read of a job view goes
 * through the store's one executor, so the count is what a request costs in round trips (the hot
 * path's own statements bypass it; a request that reads only is counted whole).
 */
export async function countStatements(store: Store, fn: () => Promise<unknown>): Promise<number> {
  const executor = (store as unknown as { db: Kysely<unknown> }).db.getExecutor() as unknown as { executeQuery: (...args: unknown[]) => Promise<unknown> };
  const original = executor.executeQuery;
  let n = 0;
  executor.executeQuery = function counted(this: unknown, ...args: unknown[]) {
    n++;
    return original.apply(this, args);
  };
  try {
    await fn();
  } finally {
    executor.executeQuery = original;
  }
  return n;
}
