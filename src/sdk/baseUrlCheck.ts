import { MiproxError } from './errors.js';

/** `http://user:pass@host` as `http://***@host`: a URL's credentials never reach an error message. */
export const withoutUserInfo = (url: string): string => url.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/?#]*@/i, '$1***@');

/**
 * Refuses, before anything is sent, a server URL fetch cannot use. An unparsable one (`localhost 8700`,
 * a port past 65535) threw a bare TypeError "Invalid URL" naming no option; one with a user name and
 * password (fetch refuses credentials in URLs) was a ConnectionError "cannot reach" with
 * `requestSent: true` whose message quoted the URL, password included.
 */
export function checkBaseUrl(baseUrl: string): void {
  const fail = (why: string) => new MiproxError(
    `the server URL ${JSON.stringify(withoutUserInfo(baseUrl))} (backendUrl, else MIPROX_BASE_URL) ${why} (nothing was sent)`,
    { code: 'invalid_options' },
  );
  let url: URL;
  try {
    url = new URL(baseUrl);
  } catch {
    throw fail('is not a URL: give the server\'s origin, e.g. http://127.0.0.1:8700');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw fail(`has the scheme ${url.protocol.slice(0, -1)}: use http or https`);
  if (url.username !== '' || url.password !== '') {
    throw fail('holds a user name or password, which fetch refuses to send: leave them out and pass the API key as apiKey (or headers for a proxy in front)');
  }
}
