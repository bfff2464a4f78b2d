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
 */
export function loggableUrl(url: string): string {
  return url.replace(/sys_([0-9a-f]{6})[0-9a-f]*/gi, 'sys_$1…');
}
