import { describeDatabase, type AppConfig } from '../config/config.js';
import { DatabaseUnavailableError } from '../shared/errors.js';
import { CliError } from './cliError.js';

/** Connect failures: nothing answers at the address DATABASE_URL names. */
const UNREACHABLE_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH']);
/**
 * Name lookups among them: `serve` and `demo` also look up HOST to listen on, and a HOST that does not
 * resolve fails with the same codes, so such a failure is the database's only when it names its host.
 */
const LOOKUP_CODES = new Set(['ENOTFOUND', 'EAI_AGAIN']);
/** PostgreSQL answered and refused: wrong password (28P01), role or authorization (28000), database name (3D000). */
const REFUSED_SQLSTATES = new Set(['28P01', '28000', '3D000']);

/**
 * What a command says when the database it was pointed at cannot be opened. The raw driver message
 * (`connect ECONNREFUSED 127.0.0.1:5999`, `role "x" does not exist`, `unable to open database file`)
 * named neither the database nor the setting that chose it, so a first run with a typo in
 * DATABASE_URL read like a crash. Null for any other error, which keeps its own message.
 */
export function databaseOpenError(thrown: unknown, db: AppConfig['database']): CliError | null {
  // A write at start (serve seeding MIPROX_API_KEY, keys create) goes through the guarded store, which
  // turns the driver's error into a 503's "the database is unavailable; retry shortly": the cause says why.
  const err = thrown instanceof DatabaseUnavailableError && thrown.cause instanceof Error ? thrown.cause : thrown;
  if (!(err instanceof Error)) return null;
  const code = (err as { code?: unknown }).code;
  if (typeof code !== 'string') return null;
  const where = describeDatabase(db);
  if (db.kind === 'postgres' && UNREACHABLE_CODES.has(code) && (!LOOKUP_CODES.has(code) || looksUpHostOf(err, db.url))) {
    return new CliError(`cannot reach the database ${where}: ${err.message}. Is PostgreSQL running there? DATABASE_URL chooses the database`, 'database_unreachable');
  }
  if (db.kind === 'postgres' && REFUSED_SQLSTATES.has(code)) {
    return new CliError(`the database ${where} refused the connection: ${err.message}. Check the user, password and database name in DATABASE_URL`, 'database_refused');
  }
  // 42501 insufficient_privilege at open: the role may not create the schema (`permission denied for
  // database miprox` named neither DATABASE_SCHEMA nor what to grant).
  if (db.kind === 'postgres' && code === '42501') {
    return new CliError(
      `the database ${where} refused to let the role in DATABASE_URL create schema ${db.schema} (DATABASE_SCHEMA): ${err.message}. `
      + `Create the schema for that role (create schema ${db.schema} authorization <role>), or grant it CREATE on the database`,
      'database_refused',
    );
  }
  // 25006: DATABASE_URL leads to a standby (after a failover), or the database was made read-only.
  if (db.kind === 'postgres' && code === '25006') {
    return new CliError(`the database ${where} takes no writes: ${err.message}. Point DATABASE_URL at the primary (a standby after a failover?), or turn off default_transaction_read_only there`, 'database_refused');
  }
  if (db.kind === 'sqlite' && code.startsWith('SQLITE_CANTOPEN')) {
    return new CliError(`cannot open the database ${where}: ${err.message}. DATABASE_URL (or the default ~/.miprox/miprox.db) must name a file miprox can create and write`, 'database_unreachable');
  }
  if (db.kind === 'sqlite') {
    const hint = sqliteHint(code, err, db.path);
    if (hint) return new CliError(`cannot open the database ${where}: ${err.message}. ${hint}`, 'database_unreachable');
  }
  return null;
}

/** File system refusals met while creating the database file or its directory (before SQLite opens it). */
const FILE_REFUSED_CODES = new Set(['EACCES', 'EPERM', 'EROFS']);

/**
 * What to do about a SQLite file that exists but cannot be used. Each of these stopped the start with
 * SQLite's bare words (`miprox: database is locked`, `miprox: file is not a database`, `miprox:
 * database or disk is full`), naming neither the file nor the setting that chose it, which with the
 * default path the operator may not know. Null for any other error.
 */
function sqliteHint(code: string, err: Error, path: string): string | null {
  if (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED')) {
    return 'Another process holds its write lock (a sqlite3 shell, a script, another miprox): let it finish, then start again';
  }
  if (code.startsWith('SQLITE_READONLY') || FILE_REFUSED_CODES.has(code)) {
    // A refusal by the file system names its own path: only one on the way to the database is ours.
    const at = (err as { path?: unknown }).path;
    if (FILE_REFUSED_CODES.has(code) && !(typeof at === 'string' && path.startsWith(at))) return null;
    return 'miprox may not write it: the file, its directory and its -wal and -shm files must be writable by the user miprox runs as, on a disk mounted read-write';
  }
  if (code.startsWith('SQLITE_FULL') || code === 'ENOSPC') return 'The disk it is on is full: free space there, then start again';
  if (code.startsWith('SQLITE_NOTADB')) return 'The file is not a SQLite database: DATABASE_URL (or the default ~/.miprox/miprox.db) names another file';
  if (code.startsWith('SQLITE_CORRUPT')) return 'The file is damaged: restore a backup (docs/deploy.md, "Backups")';
  return null;
}

/** Whether a failed name lookup was for the host of the database URL (true when the error does not say). */
function looksUpHostOf(err: Error, url: string): boolean {
  const hostname = (err as { hostname?: unknown }).hostname;
  if (typeof hostname !== 'string') return true;
  try {
    return new URL(url).hostname === hostname;
  } catch {
    return true;
  }
}

/** Runs `open`, turning a failure to open the database into the one-line error above. */
export async function openingDatabase<T>(db: AppConfig['database'], open: () => Promise<T>): Promise<T> {
  try {
    return await open();
  } catch (err) {
    throw databaseOpenError(err, db) ?? err;
  }
}
