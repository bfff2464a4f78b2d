import { CREDENTIAL_PARAMETER } from '../shared/credentialNames.js';

/**
 * Removing the server's provider keys from what an upstream sends back. Gateways and providers echo
 * the key they were sent (a refused key in an error message, request headers in a gateway's error,
 * a mid-stream `error` event): whatever miprox relays, logs or stores of an upstream's answer passes
 * through here first (upstreamTransport.ts), so no call site needs to remember it.
 */

/** What a key is replaced with. */
export const REDACTED = '[redacted]';

/** Shorter values would match ordinary text; keys are far longer. */
const MIN_SECRET_LENGTH = 4;

const usable = (secrets: readonly string[]): string[] => secrets.filter((s) => s.length >= MIN_SECRET_LENGTH);

/** Removes every secret from a message (upstreams sometimes echo the key they refused). */
export function redact(message: string, secrets: readonly string[]): string {
  let out = message;
  for (const s of usable(secrets)) {
    if (out.includes(s)) out = out.split(s).join(REDACTED);
  }
  return out;
}

/**
 * An upstream body, chunk by chunk, with every secret replaced, including one cut across two chunks:
 * a chunk's end that could begin a secret is held back until the next chunk says whether it does.
 * An event stream's chunks end in a blank line, which begins no key, so nothing is held back in
 * practice. Without secrets the chunks pass untouched.
 */
export function redactingChunks(source: AsyncIterable<Uint8Array>, secrets: readonly string[]): AsyncIterable<Uint8Array> {
  const keys = usable(secrets).map((s) => Buffer.from(s, 'utf8'));
  if (keys.length === 0) return source;
  const replacement = Buffer.from(REDACTED, 'utf8');
  return (async function* redacted() {
    let held: Buffer = Buffer.alloc(0);
    for await (const chunk of source) {
      let buf = held.length > 0 ? Buffer.concat([held, chunk]) : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
      for (const key of keys) buf = replaceAll(buf, key, replacement);
      const keep = heldTail(buf, keys);
      held = Buffer.from(buf.subarray(buf.length - keep));
      if (buf.length - keep > 0) yield buf.subarray(0, buf.length - keep);
    }
    if (held.length > 0) yield held;
  })();
}

function replaceAll(buf: Buffer, key: Buffer, replacement: Buffer): Buffer {
  let at = buf.indexOf(key);
  if (at < 0) return buf;
  const parts: Buffer[] = [];
  let from = 0;
  while (at >= 0) {
    parts.push(buf.subarray(from, at), replacement);
    from = at + key.length;
    at = buf.indexOf(key, from);
  }
  parts.push(buf.subarray(from));
  return Buffer.concat(parts);
}

/** The length of the longest end of `buf` that is the beginning of a key (0: none). */
function heldTail(buf: Buffer, keys: readonly Buffer[]): number {
  let longest = 0;
  for (const key of keys) {
    for (let i = Math.max(0, buf.length - key.length + 1); i < buf.length; i++) {
      const tail = buf.length - i;
      if (tail <= longest) break;
      if (buf[i] === key[0] && buf.subarray(i).equals(key.subarray(0, tail))) {
        longest = tail;
        break;
      }
    }
  }
  return longest;
}

/**
 * The credentials a base URL carries in its query, as written and decoded: the request line holds
 * them, and an upstream that answers "no route POST /v1/chat/completions?api_key=..." echoes them.
 * Other parameters (`api-version=2024-06-01`) are left alone: their values are ordinary text.
 */
export function urlSecrets(url: string): string[] {
  const out = new Set<string>();
  const query = new URL(url).search.slice(1);
  for (const pair of query.split('&')) {
    const at = pair.indexOf('=');
    if (at <= 0) continue;
    const name = pair.slice(0, at);
    if (!CREDENTIAL_PARAMETER.test(name)) continue;
    const written = pair.slice(at + 1);
    out.add(written);
    try {
      out.add(decodeURIComponent(written.replace(/\+/g, ' ')));
    } catch {
      // A malformed escape: the value as written is all there is to match.
    }
  }
  return [...out].filter((s) => s.length >= MIN_SECRET_LENGTH);
}
