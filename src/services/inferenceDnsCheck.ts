import { isIP } from 'node:net';
import { type ResolveHost, systemResolve } from '../providers/guardedLookup.js';
import { checkResolvedAddress } from '../providers/inferenceUrlPolicy.js';
import type { JobConfig } from '../schemas/jobConfig.js';
import type { FieldProblem } from '../shared/errors.js';
import type { Logger } from '../shared/logger.js';

/** Creation must not wait long on a slow resolver: an answer that takes longer is left to the connect-time check. */
const RESOLVE_DEADLINE_MS = 2000;

/**
 * At job creation, an inference_url naming a host is resolved and every address checked, so a name
 * that points at loopback, a private network or a metadata endpoint is refused up front with a 422
 * (issue 14, item 8). The connect-time lookup (guardedLookup.ts) stays the real guard: DNS answers
 * can change after creation. A name that does not resolve now is accepted (it may resolve later).
 */
export function inferenceDnsCheck(allowedHosts: readonly string[], resolveHost: ResolveHost = systemResolve, log?: Logger) {
  return async (config: JobConfig): Promise<FieldProblem[]> => {
    const urls = [
      ['policy.inference_url', config.policy.inference_url],
      ['mipro.proposer.inference_url', config.mipro.proposer.inference_url],
    ] as const;
    const problems: FieldProblem[] = [];
    for (const [path, url] of urls) {
      if (!url) continue;
      const parsed = new URL(url);
      const host = parsed.hostname.replace(/^\[|\]$/g, '');
      if (isIP(host) !== 0) continue; // literals were checked with the schema
      const port = parsed.port || (parsed.protocol === 'https:' ? '443' : '80');
      const addresses = await withDeadline(resolveHost(host));
      for (const a of addresses ?? []) {
        const check = checkResolvedAddress(host, port, a.address, allowedHosts);
        if (!check.ok) {
          // The 422 names the kind of address, not the address (inferenceUrlPolicy.ts); the operator's log may.
          log?.debug({ host, address: check.address }, 'inference_url refused at job creation: the host resolves to a refused address');
          problems.push({ path, message: check.reason });
          break;
        }
      }
    }
    return problems;
  };
}

async function withDeadline<T>(p: Promise<T>): Promise<T | null> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<null>((resolve) => {
    timer = setTimeout(() => resolve(null), RESOLVE_DEADLINE_MS);
  });
  try {
    return await Promise.race([p.catch(() => null), deadline]);
  } finally {
    clearTimeout(timer);
  }
}
