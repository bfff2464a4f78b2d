import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Makes a file immutable (`chattr +i`) or writable again: no process may write it then, root
 * included, even through a descriptor opened before (chmod stops neither root nor an open
 * descriptor). The nearest a test gets to a disk remounted read-only or failing under a running server.
 */
export function setImmutable(path: string, on: boolean): void {
  execFileSync('chattr', [on ? '+i' : '-i', path], { stdio: 'ignore' });
}

/** Whether this machine can (root, on a file system with attributes: ext4, xfs, btrfs). */
export function canMakeImmutable(): boolean {
  const probe = join(mkdtempSync(join(tmpdir(), 'miprox-chattr-')), 'probe');
  writeFileSync(probe, '');
  try {
    setImmutable(probe, true);
    setImmutable(probe, false);
    return true;
  } catch {
    return false;
  }
}
