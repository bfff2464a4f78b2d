import { UpstreamError } from '../shared/errors.js';
import { notToRetry } from './upstreamErrors.js';

/**
 * A job's `inference_url` may name a miprox proxy URL, this instance's own included (a public name
 * passes the SSRF policy). Each job that does adds a hop: a chain of N such jobs turned one client
 * call into N nested calls, each holding two sockets and a rollout record until the innermost answered
 * (or UPSTREAM_TIMEOUT_MS passed), so a tenant with a few hundred jobs could exhaust the server's file
 * descriptors with a handful of calls. miprox says on each call it sends to an `openai_compatible`
 * upstream how many miprox proxies it passed, as RFC 9110's `Via` (`1.1 miprox` per hop), and a
 * proxied call that already passed MAX_PROXY_HOPS is refused before anything is sent or recorded.
 */
export const MAX_PROXY_HOPS = 4;

const VIA_ENTRY = '1.1 miprox';

/** How many `Via` entries (of any balancer's header, repeated or comma-joined) name miprox as the receiver. */
export function proxyHopsOf(via: string | string[] | undefined): number {
  if (via === undefined) return 0;
  let hops = 0;
  for (const entry of (Array.isArray(via) ? via : [via]).join(',').split(',')) {
    // `[protocol-name/]protocol-version received-by [comment]`
    if (/^\s*\S+\s+miprox(\s|$)/i.test(entry)) hops++;
  }
  return hops;
}

/** The `Via` a call that passed `hops` miprox proxies before this one sends upstream. */
export function viaHeader(hops: number): string {
  return new Array<string>(hops + 1).fill(VIA_ENTRY).join(', ');
}

/**
 * The refusal of a call that passed too many: 508 (Loop Detected), with `x-should-retry: false` so
 * neither the client's SDK nor the miprox hops before this one (whose answer it becomes) retry it.
 */
export function proxyLoopError(hops: number): UpstreamError {
  return notToRetry(new UpstreamError(
    `this call already passed ${hops} miprox proxies (its Via header; at most ${MAX_PROXY_HOPS}): a job's inference_url leads to another miprox proxy URL, which leads on; point the inference_url at the model server itself`,
    { status: 508, code: 'proxy_loop' },
  ));
}
