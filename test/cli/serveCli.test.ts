import { chmodSync, mkdtempSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli, spawnServer, waitExit } from '../helpers/childServer.js';
import { waitFor } from '../helpers/waitFor.js';

describe('miprox serve', () => {
  it('says which port is taken and what to do, in one line, when another program holds it', async () => {
    const holder = createServer();
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
    const port = (holder.address() as { port: number }).port;
    try {
      const env = { DATABASE_URL: join(mkdtempSync(join(tmpdir(), 'miprox-serve-')), 'miprox.db'), HOST: '127.0.0.1', MIPROX_API_KEY: '' };
      const res = await runCli(['serve', '--port', String(port)], env);
      expect(res.code).toBe(1);
      expect(res.stderr.trim()).toBe(`miprox: port ${port} on 127.0.0.1 is already in use (another miprox serve, or another program): stop it, or choose a port with --port or PORT`);
    } finally {
      holder.close();
    }
  });

  /** A HOST this machine does not have said "getaddrinfo ENOTFOUND ..." or "listen EADDRNOTAVAIL ...", naming no setting. */
  it('names HOST and --host when the address cannot be listened on', async () => {
    const env = { DATABASE_URL: join(mkdtempSync(join(tmpdir(), 'miprox-serve-')), 'miprox.db'), MIPROX_API_KEY: '' };
    const unresolvable = await runCli(['serve', '--port', '0'], { ...env, HOST: 'no-such-host.invalid' });
    expect(unresolvable.code).toBe(1);
    expect(unresolvable.stderr.trim()).toBe('miprox: cannot listen on no-such-host.invalid: it is not a name this machine can resolve; set HOST or --host to one of its addresses (127.0.0.1 for this machine only, 0.0.0.0 for all)');
    // TEST-NET-1 (RFC 5737): never an address of a test machine.
    const foreign = await runCli(['serve', '--port', '0', '--host', '192.0.2.1'], env);
    expect(foreign.code).toBe(1);
    expect(foreign.stderr.trim()).toBe('miprox: cannot listen on 192.0.2.1: it is not an address of this machine; set HOST or --host to one of its addresses (127.0.0.1 for this machine only, 0.0.0.0 for all)');
  });

  /** `serve --port abc` said "invalid configuration: PORT: Invalid input: expected number, received NaN". */
  it('names the --port flag and what it takes when its value is not a port', async () => {
    const env = { DATABASE_URL: join(mkdtempSync(join(tmpdir(), 'miprox-serve-')), 'miprox.db'), HOST: '127.0.0.1', MIPROX_API_KEY: '' };
    for (const bad of ['abc', '70000', '0x10', '-1']) {
      const res = await runCli(['serve', '--port', bad], env);
      expect(res.code).toBe(1);
      expect(res.stderr).toMatch(new RegExp(`^error: option '-p, --port <port>' argument '${bad}' is invalid\\. must be a port number from 0 to 65535`));
    }
  });

  /** An existing file keeps its mode (a backup restored with mv may be 0644): serve said nothing. */
  it('warns when the SQLite file it opens is readable by other users, and not for the file it creates', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'miprox-serve-')), 'miprox.db');
    const env = { DATABASE_URL: path, MIPROX_API_KEY: '' };
    const first = await spawnServer(env);
    first.proc.kill('SIGTERM');
    await waitExit(first.proc);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(first.output()).not.toMatch(/warning/);

    chmodSync(path, 0o644);
    const second = await spawnServer(env);
    try {
      await waitFor(async () => second.output().includes('warning'));
      expect(second.output()).toContain(`miprox: warning: the database file ${path} is readable by every local user (mode 0644) and holds every call's text; chmod 600 it unless that is intended`);
    } finally {
      second.proc.kill('SIGTERM');
      await waitExit(second.proc);
    }
  });
});
