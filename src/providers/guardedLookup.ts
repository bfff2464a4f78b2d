import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import type { LookupFunction } from 'node:net';
import type { Logger } from '../shared/logger.js';
import { checkResolvedAddress } from './inferenceUrlPolicy.js';

/** How a name becomes addresses; node's resolver (with /etc/hosts) unless a test injects one. */
export type ResolveHost = (hostname: string) => Promise<LookupAddress[]>;

export const systemResolve: ResolveHost = (hostname) =>
  new Promise((resolve, reject) => dnsLookup(hostname, { all: true, verbatim: true }, (err, addresses) => (err ? reject(err) : resolve(addresses))));

/** The error a connection to a refused address fails with (never retried: the answer would not change). */
export class RefusedAddressError extends Error {
  readonly code = 'ERR_INFERENCE_ADDRESS_REFUSED';
}

/**
 * A `lookup` for the sockets to a job's inference_url (SSRF, issue 14 item 8): resolves the name,
 * checks EVERY address it resolved to (one private answer among public ones is enough to refuse:
 * the resolver may rotate), and hands the socket the address it checked, so the connection goes
 * exactly where the check looked. IP literals never reach a lookup; the syntactic check covers them.
 */
export function guardedLookup(port: string, allowedHosts: readonly string[], resolveHost: ResolveHost = systemResolve, log?: Logger): LookupFunction {
  return (hostname, options, callback) => {
    resolveHost(hostname).then((addresses) => {
      for (const a of addresses) {
        const check = checkResolvedAddress(hostname, port, a.address, allowedHosts);
        if (!check.ok) {
          // The error reaches the tenant without the address (inferenceUrlPolicy.ts); the operator may look it up here.
          log?.debug({ host: hostname, address: a.address }, 'inference_url refused: the host resolves to a refused address');
          throw new RefusedAddressError(`inference_url ${check.reason}`);
        }
      }
      const wanted = options.family === 4 || options.family === 6 ? addresses.filter((a) => a.family === options.family) : addresses;
      if (wanted.length === 0) throw Object.assign(new Error(`no address for ${hostname}`), { code: 'ENOTFOUND' });
      return wanted;
    }).then(
      // Outside the chain's error path: a throwing callback must not be called twice.
      (wanted) => (options.all ? callback(null, wanted) : callback(null, wanted[0]!.address, wanted[0]!.family)),
      (err: NodeJS.ErrnoException) => callback(err, '', 0),
    );
  };
}
