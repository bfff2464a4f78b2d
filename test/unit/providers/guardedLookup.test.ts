import type { LookupAddress } from 'node:dns';
import { describe, expect, it } from 'vitest';
import { guardedLookup } from '../../../src/providers/guardedLookup.js';
import { checkInferenceUrl, checkResolvedAddress } from '../../../src/providers/inferenceUrlPolicy.js';
import { silentLogger } from '../../../src/shared/logger.js';

/** Issue 14, item 8: names are resolved and every address is checked; some hosts are never called. */
describe('addresses that are never called, whatever the allowlist says', () => {
  it.each([
    'http://168.63.129.16/v1', 'http://169.254.170.2/v1', 'http://169.254.170.23/v1', 'http://[fd00:ec2::23]/v1',
    'http://192.0.0.192/v1', 'http://metadata.azure.com/v1', 'http://[fe80::1]/v1', 'http://[fe90::1]:8000/v1', 'http://169.254.169.254/',
  ])('%s is refused even with MIPROX_ALLOWED_INFERENCE_HOSTS=*', (url) => {
    const check = checkInferenceUrl(url, ['*']);
    expect(check.ok).toBe(false);
    expect(!check.ok && check.reason).toMatch(/never called/);
  });
});

describe('checkResolvedAddress', () => {
  it.each([
    ['public address', 'api.example.com', '93.184.216.34', [], true],
    ['loopback', 'rebind.example.com', '127.0.0.1', [], false],
    ['private', 'x.example.com', '10.1.2.3', [], false],
    ['IPv4-mapped loopback', 'x.example.com', '::ffff:127.0.0.1', [], false],
    ['allowlisted name to a private address', 'vllm.example.com', '10.1.2.3', ['vllm.example.com:8000'], true],
    ['allowlisted name on another port', 'vllm.example.com', '10.1.2.3', ['vllm.example.com:9000'], false],
    ['wildcard to loopback', 'x.example.com', '127.0.0.1', ['*'], true],
    ['wildcard to metadata', 'x.example.com', '169.254.169.254', ['*'], false],
    ['wildcard to Azure wireserver', 'x.example.com', '168.63.129.16', ['*'], false],
    ['wildcard to IPv6 link-local', 'x.example.com', 'fe80::1', ['*'], false],
  ] as const)('%s', (_name, host, address, allowed, ok) => {
    expect(checkResolvedAddress(host, '8000', address, allowed).ok).toBe(ok);
  });
});

describe('guardedLookup', () => {
  const resolver = (table: Record<string, LookupAddress[]>) => async (host: string) => {
    const found = table[host];
    if (!found) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' });
    return found;
  };
  const run = (lookup: ReturnType<typeof guardedLookup>, host: string, all: boolean) =>
    new Promise<{ err: NodeJS.ErrnoException | null; address: unknown; family?: number }>((resolve) => {
      lookup(host, { all }, (err: NodeJS.ErrnoException | null, address: unknown, family?: number) => resolve({ err, address, ...(family !== undefined ? { family } : {}) }));
    });
  const table = resolver({
    'public.example.com': [{ address: '93.184.216.34', family: 4 }, { address: '2606:2800::1', family: 6 }],
    'mixed.example.com': [{ address: '93.184.216.34', family: 4 }, { address: '127.0.0.1', family: 4 }],
    'meta.example.com': [{ address: '169.254.169.254', family: 4 }],
  });

  it('hands the socket the addresses it checked', async () => {
    const lookup = guardedLookup('443', [], table);
    expect(await run(lookup, 'public.example.com', false)).toEqual({ err: null, address: '93.184.216.34', family: 4 });
    expect((await run(lookup, 'public.example.com', true)).address).toEqual([{ address: '93.184.216.34', family: 4 }, { address: '2606:2800::1', family: 6 }]);
  });

  it('refuses a name when any of its addresses is refused (rebinding to loopback, metadata)', async () => {
    const lookup = guardedLookup('443', [], table);
    const mixed = await run(lookup, 'mixed.example.com', true);
    expect(mixed.err).toMatchObject({ code: 'ERR_INFERENCE_ADDRESS_REFUSED', message: expect.stringMatching(/mixed\.example\.com resolves to a loopback address; add it to MIPROX_ALLOWED_INFERENCE_HOSTS/) });
    const meta = await run(guardedLookup('443', ['*'], table), 'meta.example.com', false);
    expect(meta.err?.message).toMatch(/meta\.example\.com resolves to a cloud metadata endpoint, which is never called/);
  });

  it('names the kind of address it refused, never the address (the tenant reads it), which goes to the debug log', async () => {
    const logged: unknown[] = [];
    const log = { ...silentLogger, debug: (obj: object | string) => { logged.push(obj); } };
    const mixed = await run(guardedLookup('443', [], table, log), 'mixed.example.com', true);
    const meta = await run(guardedLookup('443', ['*'], table, log), 'meta.example.com', false);
    expect(mixed.err?.message).not.toContain('127.0.0.1');
    expect(meta.err?.message).not.toContain('169.254.169.254');
    expect(logged).toEqual([{ host: 'mixed.example.com', address: '127.0.0.1' }, { host: 'meta.example.com', address: '169.254.169.254' }]);
  });

  it('passes resolver failures on', async () => {
    expect((await run(guardedLookup('443', [], table), 'nowhere.example.com', false)).err?.code).toBe('ENOTFOUND');
  });
});
