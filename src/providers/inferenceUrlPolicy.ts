import { classifyIpLiteral, type AddressClass } from './ipAddress.js';

/**
 * Which `policy.inference_url` a job may name. The server calls that URL on the job owner's behalf,
 * so without a policy any tenant could make miprox reach cloud metadata endpoints or services on its
 * private network (SSRF). Private, loopback and link-local targets need the operator's consent via
 * MIPROX_ALLOWED_INFERENCE_HOSTS (entries `host` or `host:port`; `*` allows everything except
 * cloud metadata endpoints, which are refused whatever the list says).
 *
 * This check is syntactic: IP literals by range, DNS names by well-known private names. A public name
 * may still resolve to a private address, so the connection itself resolves the name, checks every
 * address it got with checkResolvedAddress (guardedLookup.ts) and connects to the checked one: no
 * window for DNS rebinding between the check and the connect.
 */
export type InferenceUrlCheck = { ok: true } | { ok: false; reason: string; address?: string };

const ALLOW_HINT = 'add it to MIPROX_ALLOWED_INFERENCE_HOSTS (host or host:port) to allow it';

const METADATA_NAMES = new Set(['metadata.google.internal', 'metadata.goog', 'metadata', 'instance-data', 'metadata.azure.com']);
/** Names that only resolve inside a private network. */
const PRIVATE_SUFFIXES = ['.local', '.internal', '.lan', '.home.arpa', '.intranet', '.corp'];

export function checkInferenceUrl(url: string, allowedHosts: readonly string[]): InferenceUrlCheck {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return { ok: false, reason: 'is not a valid absolute URL' };
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    return { ok: false, reason: `must use http or https, not ${parsed.protocol.replace(/:$/, '')}` };
  }
  if (parsed.username !== '' || parsed.password !== '') {
    return { ok: false, reason: 'must not embed credentials (user:password@host)' };
  }
  const host = normalizeHost(parsed.hostname);
  if (host === '') return { ok: false, reason: 'has no host' };
  const port = parsed.port !== '' ? parsed.port : parsed.protocol === 'https:' ? '443' : '80';
  const shown = parsed.port !== '' ? `${host}:${parsed.port}` : host;
  const ipClass = classifyIpLiteral(host);
  // Metadata endpoints hand out cloud credentials: no allowlist entry (not even `*`) opens them.
  const never = METADATA_NAMES.has(host) ? 'is a cloud metadata endpoint' : neverCalled(host, ipClass);
  if (never !== undefined) return { ok: false, reason: `host ${shown} ${never} and is never called` };
  if (isAllowed(host, port, allowedHosts)) return { ok: true };
  if (ipClass !== undefined) {
    return ipClass === 'public' ? { ok: true } : { ok: false, reason: `host ${shown} ${describe(ipClass)}; ${ALLOW_HINT}` };
  }
  if (host === 'localhost' || host.endsWith('.localhost')) {
    return { ok: false, reason: `host ${shown} is the loopback interface; ${ALLOW_HINT}` };
  }
  if (!host.includes('.') || PRIVATE_SUFFIXES.some((s) => host.endsWith(s))) {
    return { ok: false, reason: `host ${shown} is a private network name; ${ALLOW_HINT}` };
  }
  return { ok: true };
}

/**
 * Why an address may never be called, whatever MIPROX_ALLOWED_INFERENCE_HOSTS says: cloud metadata
 * endpoints, and IPv6 link-local addresses (fe80::/10, where metadata services also live).
 */
function neverCalled(address: string, c: AddressClass | undefined): string | undefined {
  if (c === 'metadata') return 'is a cloud metadata endpoint';
  if (c === 'link-local' && address.includes(':')) return 'is an IPv6 link-local address (fe80::/10)';
  return undefined;
}

/**
 * The check of one address a DNS name resolved to, made at connect time. `host` and `port` are the
 * URL's (the allowlist names hosts as the job wrote them). The reason says what kind of address the
 * name resolved to, never the address: it reaches the tenant (a 422 at creation, a call's 502), and
 * the address would tell the tenant how this server's resolver answers for internal names. The
 * address is returned beside it for the server's own debug log.
 */
export function checkResolvedAddress(host: string, port: string, address: string, allowedHosts: readonly string[]): InferenceUrlCheck {
  const c = classifyIpLiteral(address);
  const shown = `host ${host} resolves to`;
  if (c === undefined) return { ok: false, reason: `${shown} something that is not an IP address`, address };
  const never = neverCalled(address, c);
  if (never !== undefined) return { ok: false, reason: `${shown} ${never.replace(/^is /, '')}, which is never called`, address };
  if (c === 'public' || isAllowed(normalizeHost(host), port, allowedHosts)) return { ok: true };
  return { ok: false, reason: `${shown} ${describe(c).replace(/^is /, '')}; ${ALLOW_HINT}`, address };
}

function describe(c: Exclude<AddressClass, 'public'>): string {
  switch (c) {
    case 'metadata':
      return 'is a cloud metadata endpoint';
    case 'loopback':
      return 'is a loopback address';
    case 'private':
      return 'is a private network address';
    case 'link-local':
      return 'is a link-local address';
    case 'unspecified':
      return 'is an unspecified address (it reaches this server)';
    case 'multicast':
      return 'is a multicast address';
    case 'reserved':
      return 'is a reserved address';
  }
}

/** Lower case, no trailing dot: `LOCALHOST.` and `localhost` are the same host. */
function normalizeHost(hostname: string): string {
  return hostname.toLowerCase().replace(/\.+$/, '');
}

interface AllowEntry {
  host: string;
  /** Empty: any port. */
  port: string;
}

function isAllowed(host: string, port: string, allowedHosts: readonly string[]): boolean {
  for (const raw of allowedHosts) {
    const entry = parseAllowEntry(raw);
    if (entry === undefined) continue;
    if (entry.host === '*') return true;
    if (entry.host === host && (entry.port === '' || entry.port === port)) return true;
  }
  return false;
}

/**
 * Entries may be `host`, `host:port`, `[v6]:port`, a bare IPv6 literal, or a URL. Hosts are passed
 * through the URL parser so `127.1` and `127.0.0.1` (or two spellings of one IPv6) compare equal.
 */
export function parseAllowEntry(raw: string): AllowEntry | undefined {
  let text = raw.trim();
  if (text === '') return undefined;
  if (text === '*') return { host: '*', port: '' };
  const scheme = /^[a-z][a-z0-9+.-]*:\/\//i.exec(text);
  if (scheme) text = text.slice(scheme[0].length).replace(/\/.*$/, '');
  let host = text;
  let port = '';
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(text);
  const hostPort = /^([^:]+):(\d+)$/.exec(text);
  if (bracketed) {
    host = `[${bracketed[1] ?? ''}]`;
    port = bracketed[2] ?? '';
  } else if (hostPort) {
    host = hostPort[1] ?? '';
    port = hostPort[2] ?? '';
  } else if (text.includes(':')) {
    host = `[${text}]`; // a bare IPv6 literal
  }
  try {
    return { host: normalizeHost(new URL(`http://${host}`).hostname), port: port.replace(/^0+(?=\d)/, '') };
  } catch {
    return undefined;
  }
}
