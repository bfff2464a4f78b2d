import type pg from 'pg';

/**
 * A deadline on every query of a pooled connection, after which the connection is dropped.
 *
 * A database that vanishes without a reset (a failover moving its address, a dropped route, a
 * frozen VM) leaves the pooled sockets open and silent: a query sent on one waits for an answer
 * forever (TCP gives up on unacknowledged data after about 15 minutes; keep-alive only probes idle
 * sockets), the request behind it hangs, and a hot-path batch stuck on one blocks every later
 * batch of its kind, so the instance stays broken after the database is back. pg's own
 * `query_timeout` fails the caller but leaves the connection waiting and back in the pool, where
 * every later query queues behind the lost one. Destroying the socket fails the lost query and
 * everything queued on that connection with ETIMEDOUT (a DatabaseUnavailableError, 503), and the
 * pool discards it: the next query opens a fresh connection.
 *
 * `deadline.ms` is read at each query, so the pool can run its migrations (which may wait long on
 * another instance's migration lock) before the deadline is switched on; null means none.
 */
export interface QueryDeadline {
  ms: number | null;
}

type AnyQuery = (...args: unknown[]) => unknown;

export function armQueryDeadline(client: pg.PoolClient, deadline: QueryDeadline): void {
  const query = client.query.bind(client) as AnyQuery;
  const drop = (ms: number) => {
    const socket = (client as unknown as { connection?: { stream?: { destroy(err?: Error): void } } }).connection?.stream;
    socket?.destroy(Object.assign(new Error(`no answer from PostgreSQL within ${ms} ms: connection dropped`), { code: 'ETIMEDOUT' }));
  };
  const withDeadline: AnyQuery = (...args) => {
    const ms = deadline.ms;
    if (ms === null) return query(...args);
    const timer = setTimeout(() => drop(ms), ms);
    timer.unref();
    const last = args.length - 1;
    const callback = args[last];
    if (typeof callback === 'function') {
      // pool.query's form: the answer comes through the callback.
      args[last] = (...result: unknown[]) => {
        clearTimeout(timer);
        (callback as AnyQuery)(...result);
      };
      return query(...args);
    }
    const result = query(...args);
    if (result instanceof Promise) {
      result.then(() => clearTimeout(timer), () => clearTimeout(timer));
      return result;
    }
    clearTimeout(timer); // a submittable (cursor, stream): not used by miprox; no deadline
    return result;
  };
  (client as unknown as { query: AnyQuery }).query = withDeadline;
}
