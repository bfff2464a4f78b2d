import { CREDENTIAL_PARAMETER } from './credentialNames.js';

/** The logging surface the app depends on (pino satisfies it); tests can pass a silent one. */
export interface Logger {
  info(obj: object | string, msg?: string): void;
  warn(obj: object | string, msg?: string): void;
  error(obj: object | string, msg?: string): void;
  debug(obj: object | string, msg?: string): void;
}

export const silentLogger: Logger = { info() {}, warn() {}, error() {}, debug() {} };

/** Paths pino must never print: keys travel in these. */
export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers["x-api-key"]',
  'req.headers["api-key"]',
  'headers.authorization',
  'headers["x-api-key"]',
  'apiKey',
  'api_key',
  '*.apiKey',
  '*.api_key',
];

/**
 * A request URL as logs may show it. A proxy URL's system id is its credential (API.md, "Auth"),
 * and session URLs carry it too: a log line with the whole id let anyone who reads the logs call
 * the job's proxy. The first 6 hex digits stay (24 of 128 bits), enough to tell jobs apart in a log.
 *
 * The router decodes %-escapes, so `/api/mipro/v1/%73ys_…` or `sys_%61b…` reaches the same job: the
 * escapes of letters, digits and `_` are decoded before the ids are looked for (those alone, so no
 * other character changes how it reads), or such a URL was logged with its whole id. The value of a
 * query parameter whose name says it holds a credential (`?api_key=`, `?key=`, `?token=`, the names
 * secretRedaction.ts looks for in an upstream URL) is logged as [redacted].
 */
export function loggableUrl(url: string): string {
  const plain = url.replace(/%([0-9a-f]{2})/gi, (escape, hex: string) => {
    const c = String.fromCharCode(parseInt(hex, 16));
    return /^[0-9A-Za-z_]$/.test(c) ? c : escape;
  });
  const masked = plain.replace(/sys_([0-9a-f]{6})[0-9a-f]*/gi, 'sys_$1…');
  const q = masked.indexOf('?');
  if (q === -1) return masked;
  const query = masked.slice(q + 1).split('&').map((pair) => {
    const at = pair.indexOf('=');
    return at > 0 && CREDENTIAL_PARAMETER.test(pair.slice(0, at)) ? `${pair.slice(0, at)}=[redacted]` : pair;
  });
  return `${masked.slice(0, q)}?${query.join('&')}`;
}
