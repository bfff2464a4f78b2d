import { AuthenticationError, MiproxError } from './errors.js';

/**
 * A header name is an HTTP token; a value may hold tab, printable ASCII and U+0080..U+00FF only (fetch
 * sends bytes). Node's fetch refuses every other control character, not only NUL, CR and LF: a key with
 * a BEL, ESC or DEL pasted in with it surfaced as a ConnectionError "cannot reach <server>".
 */
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const BAD_VALUE_CHAR = /[^\t\x20-\x7e\x80-\xff]/;

/**
 * Refuses, before anything is sent, an API key or header fetch cannot put on the wire. fetch threw a
 * TypeError for it, which surfaced as a ConnectionError "cannot reach <server>" with `requestSent:
 * true` (nothing had been sent), and undici's message quoted the whole value: a key pasted with a
 * stray control character was printed in the error. These errors name the header and the position
 * of the character, never the value.
 */
export function checkSendableHeaders(apiKey: string | undefined, headers: Readonly<Record<string, string>>): void {
  if (apiKey !== undefined) {
    const at = apiKey.search(BAD_VALUE_CHAR);
    if (at >= 0) {
      throw new AuthenticationError(
        `the API key cannot be sent in an HTTP header: its character at index ${at} is ${describe(apiKey, at)}; check the key for a character copied in with it (nothing was sent)`,
        { code: 'invalid_api_key' },
      );
    }
  }
  for (const [name, value] of Object.entries(headers)) {
    if (!TOKEN.test(name)) {
      throw new MiproxError(`header name ${JSON.stringify(name)} is not a valid HTTP header name (nothing was sent)`, { code: 'invalid_header' });
    }
    const at = String(value).search(BAD_VALUE_CHAR);
    if (at >= 0) {
      throw new MiproxError(`the value of header ${name} cannot be sent: its character at index ${at} is ${describe(String(value), at)} (nothing was sent)`, { code: 'invalid_header' });
    }
  }
}

function describe(text: string, at: number): string {
  const code = text.codePointAt(at) ?? 0;
  const hex = `U+${code.toString(16).toUpperCase().padStart(4, '0')}`;
  return code < 0x20 || code === 0x7f ? `a control character (${hex})` : `${hex}, which HTTP headers cannot carry`;
}
