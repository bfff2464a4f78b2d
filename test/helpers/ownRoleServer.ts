import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { PG_URL, uniqueSchema } from './postgres.js';
import { startTestServer, type TestServer } from './server.js';

export interface OwnRoleServer {
  t: TestServer;
  /** The server's PostgreSQL role, owner of its schema. */
  role: string;
  /** A connection as the machine's superuser, to change the role under the running server. */
  admin: pg.Client;
  /** Ends the server's open connections (found by their application_name, the role's name). */
  terminateConnections(): Promise<unknown>;
  /** Closes the server, then drops its schema and role. */
  close(): Promise<void>;
}

/**
 * A test server on PostgreSQL logged in as a role of its own (`miprox_<name>_...`, owner of its
 * schema), for tests that take logins or writes away from a running server's database and give them
 * back.
 */
export async function startOwnRoleServer(name: string): Promise<OwnRoleServer> {
  const role = `miprox_${name}_${randomBytes(4).toString('hex')}`;
  const schema = uniqueSchema(name);
  const admin = new pg.Client({ connectionString: PG_URL });
  await admin.connect();
  const dropAll = async () => {
    await admin.query(`drop schema if exists ${schema} cascade`);
    await admin.query(`drop role if exists ${role}`);
    await admin.end();
  };
  let t: TestServer;
  try {
    await admin.query(`create role ${role} login`);
    await admin.query(`create schema ${schema} authorization ${role}`);
    const url = new URL(PG_URL);
    url.username = role;
    url.searchParams.set('application_name', role);
    t = await startTestServer({ db: 'postgres', env: { DATABASE_URL: url.toString(), DATABASE_SCHEMA: schema } });
  } catch (err) {
    await dropAll();
    throw err;
  }
  return {
    t, role, admin,
    terminateConnections: () => admin.query('select pg_terminate_backend(pid) from pg_stat_activity where application_name = $1', [role]),
    close: async () => {
      await t.close();
      await dropAll();
    },
  };
}
