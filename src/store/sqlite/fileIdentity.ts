import { statSync } from 'node:fs';
import { performance } from 'node:perf_hooks';

/**
 * Writes ask the file system at most this often: two stat calls cost 4-14 us on the 2-core test
 * machine, more than a proxied call's own statements, and a batch commits per event-loop turn. A
 * write acknowledged within this long after the file was deleted can still be lost; every later one
 * is refused. /readyz always asks.
 */
const WRITE_CHECK_EVERY_MS = 100;

/** SQLite's own name for a database file moved while open: a 503 and a storage fault (unavailable.ts). */
export const DATABASE_MOVED_CODE = 'SQLITE_READONLY_DBMOVED';

interface OpenedFile {
  path: string;
  /** Named so in the error, which /readyz shows to anyone: not the path. */
  label: string;
  dev: number;
  ino: number;
}

/**
 * Whether the database's paths still name the files the server opened. A database file deleted,
 * or replaced by another (a backup moved over it), under a running server: SQLite in WAL mode goes
 * on writing into the open, now nameless, files without a word (it says SQLITE_READONLY_DBMOVED only
 * in rollback-journal mode), and every write acknowledged since vanishes at the next start, or its
 * WAL is applied to the other file. The WAL file likewise. Writes ask first (at most every
 * WRITE_CHECK_EVERY_MS while all is well, every time once it is not); the server answers 503 until
 * the path names the opened file again (moved back) or it is restarted (it then opens what the path
 * names now: taking up another file under a running engine, whose caches hold the old one's jobs, or
 * an empty new one, would not be a recovery).
 */
export class DatabaseFileIdentity {
  private readonly files: OpenedFile[];
  /** When the files were last found in place (performance.now); -Infinity once they were not. */
  private unmovedAt = -Infinity;

  constructor(path: string) {
    this.files = [[path, 'the database file'], [`${path}-wal`, "the database's WAL file"]].flatMap(([p, label]) => {
      const s = statSync(p!, { throwIfNoEntry: false });
      return s ? [{ path: p!, label: label!, dev: s.dev, ino: s.ino }] : [];
    });
  }

  /** Throws (code SQLITE_READONLY_DBMOVED) when a path no longer names the file opened; asks the file system if the last answer is older than `maxAgeMs`. */
  assertUnmoved(maxAgeMs = WRITE_CHECK_EVERY_MS): void {
    const now = performance.now();
    if (now - this.unmovedAt < maxAgeMs) return;
    this.unmovedAt = -Infinity;
    for (const f of this.files) {
      const current = statSync(f.path, { throwIfNoEntry: false });
      if (current && current.ino === f.ino && current.dev === f.dev) continue;
      throw Object.assign(
        new Error(`${f.label} was ${current ? 'replaced by another file' : 'deleted'} while the server had it open: writes are refused, since none would survive a restart; move the file back, or restart the server to open the file now there`),
        { code: DATABASE_MOVED_CODE },
      );
    }
    this.unmovedAt = now;
  }
}
