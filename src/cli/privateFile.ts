import { closeSync, constants, fchmodSync, fstatSync, ftruncateSync, openSync, writeSync } from 'node:fs';

/** Only the owner may read or write: what the CLI writes holds keys or users' call text. */
export const PRIVATE_MODE = 0o600;

/**
 * Writes `text` to `path`, readable by its owner only. `mode` on open applies only to a file it
 * creates: an existing file (an earlier export, a `touch`ed name) kept its mode, often 0644, so the
 * text landed world-readable. The mode is fixed before anything is written, and the file is not
 * truncated until then, so a file whose mode cannot be changed (another user's) is left as it was.
 * Pipes and devices (`-o /dev/stdout`) are written as they are: their mode is not the file's reader.
 */
export function writePrivateFile(path: string, text: string): void {
  const fd = openSync(path, constants.O_WRONLY | constants.O_CREAT, PRIVATE_MODE);
  try {
    const stat = fstatSync(fd);
    if (stat.isFile()) {
      if ((stat.mode & 0o777) !== PRIVATE_MODE) fchmodSync(fd, PRIVATE_MODE);
      ftruncateSync(fd, 0);
    }
    const bytes = Buffer.from(text, 'utf8');
    for (let at = 0; at < bytes.length;) at += writeSync(fd, bytes, at, bytes.length - at);
  } finally {
    closeSync(fd);
  }
}
