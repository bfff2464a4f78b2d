import { statSync } from 'node:fs';
import type { AppConfig } from '../config/config.js';

/**
 * A warning when the SQLite database file can be read or written by users other than its owner. A
 * file miprox creates is 0600 (it holds every call's text and the API keys' hashes); an existing one
 * keeps the mode its owner chose, for example a backup restored with `mv` after `sqlite3 .backup`
 * wrote it under a 022 umask. Said, not changed: the mode may be deliberate (a group of operators).
 */
export function databaseFileModeWarning(db: AppConfig['database']): string | null {
  if (db.kind !== 'sqlite' || db.path === ':memory:') return null;
  let mode: number;
  try {
    mode = statSync(db.path).mode & 0o777;
  } catch {
    return null;
  }
  if ((mode & 0o077) === 0) return null;
  return `warning: the database file ${db.path} is ${mode & 0o007 ? 'readable by every local user' : 'open to its group'} (mode ${mode.toString(8).padStart(4, '0')}) `
    + `and holds every call's text; chmod 600 it unless that is intended`;
}
