import { UpstreamError } from '../shared/errors.js';

/**
 * Regroups a relayed event stream so that every piece ends on an event boundary (a blank line).
 * Bytes are relayed unchanged and without parsing, but a stream that fails (too large, connection
 * lost) can then always end with a well-formed error event, never one glued to half an event; and a
 * stream that ends mid-event, ends without [DONE], or carries lines that are not events is an error,
 * not a silent cut or a relay of garbage (issue 14, items 3 and 9).
 * A partial event is held (at most the transport's response cap) until its end arrives.
 */
export async function* wholeEvents(
  source: AsyncIterable<Uint8Array>,
  /** False for protocols without [DONE] (Responses, Messages): their reader checks the terminal event. */
  requireDone = true,
): AsyncGenerator<Uint8Array, void, undefined> {
  let pending: Buffer[] = [];
  let done = false;
  let relayed = false;
  /**
   * Whole blocks before the stream's first event that dispatch none (comments, `retry:`, `id:`), held
   * (at most HOLD_LIMIT) and relayed with that event: the relay sends the answer's head with its first
   * piece, so a stream of keep-alive comments that then ended (a proxy in front of the upstream that
   * lost it) was a 200 ending with an error event, which no SDK retries, instead of the 502 below. The
   * transport's start check holds them this long already (upstreamTransport.ts readStreamStart).
   */
  let held: Buffer[] = [];
  let heldBytes = 0;
  /** The stream's first bytes, until they tell whether they open with a byte order mark. */
  let start: Buffer | null = EMPTY;
  for await (const chunk of source) {
    let piece = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    if (start !== null) {
      // A UTF-8 byte order mark opening the stream is no part of it (WHATWG: the parser drops it),
      // and the transport's start check reads past it: relayed, it was the first line's start and
      // the answer failed as "malformed (a line starting "\xEF\xBB\xBFdata: ...")".
      piece = start.length > 0 ? Buffer.concat([start, piece]) : piece;
      if (piece.length < BOM.length && BOM.subarray(0, piece.length).equals(piece)) {
        start = piece;
        continue;
      }
      start = null;
      if (piece.subarray(0, BOM.length).equals(BOM)) piece = piece.subarray(BOM.length);
    }
    // A boundary may straddle the seam: search the new piece with the last 3 held bytes before it.
    const tail = pending.length > 0 ? tailBytes(pending, 3) : EMPTY;
    const searched = tail.length > 0 ? Buffer.concat([tail, piece]) : piece;
    const cut = lastBoundaryEnd(searched) - tail.length;
    if (cut <= 0) {
      pending.push(piece);
      continue;
    }
    const head = piece.subarray(0, cut);
    const events = pending.length > 0 ? Buffer.concat([...pending, head]) : head;
    pending = cut < piece.length ? [piece.subarray(cut)] : [];
    // Checked before it is relayed: a malformed event never reaches the client.
    const seen = checkEvents(events);
    if ((seen & SAW_DONE) !== 0) done = true;
    if (!relayed && (seen & SAW_DATA) === 0 && heldBytes + events.length <= HOLD_LIMIT) {
      held.push(events);
      heldBytes += events.length;
      continue;
    }
    relayed = true;
    if (held.length === 0) {
      yield events;
      continue;
    }
    const opening = Buffer.concat([...held, events]);
    held = [];
    yield opening;
  }
  if (start !== null && start.length > 0) pending.push(start); // a stream of part of a mark only
  const midEvent = pending.some((b) => !isWhitespace(b));
  // Ended before one whole event (comments at most): a cut (a proxy in front of the upstream can end
  // the body cleanly when it loses the upstream), not a malformed stream. Nothing was relayed, so the
  // proxy answers it as the 502 a dropped connection gives (proxyRoute.ts relayStream), which the
  // client's SDK retries.
  if (!relayed && (midEvent || requireDone)) {
    throw new UpstreamError('the upstream stream ended before its first event', { status: 502, code: 'upstream_stream_error' });
  }
  // A protocol without [DONE] whose stream held no event: its reader judges the end as that of an
  // empty stream (a 502, nothing relayed); the comments held are dropped (relayed, they sent the head
  // and the reader's error became a 200 ending with an error event).
  if (midEvent) throw badStream('the upstream stream ended in the middle of an event');
  // OpenAI-style streams always end with [DONE]; without it the end is indistinguishable from a cut.
  if (!done && requireDone) throw badStream('the upstream stream ended without data: [DONE]');
}

const badStream = (message: string): UpstreamError => new UpstreamError(message, { status: 502, code: 'upstream_bad_stream' });

/** The most bytes of blocks without an event held before the first event (the start check's read bound). */
const HOLD_LIMIT = 64 * 1024;

/** checkEvents' flags: a number, not an object, as it runs for every piece of every relayed stream. */
const SAW_DONE = 1;
const SAW_DATA = 2;

/**
 * A light check of whole events (not a parse): every line is a known field or a comment, and each
 * event's data is a JSON object or [DONE]. SAW_DONE when [DONE] was among them, SAW_DATA when any data
 * line was (a block without one dispatches no event).
 */
function checkEvents(buf: Buffer): number {
  let sawDone = false;
  let sawData = false;
  let firstData = true;
  // latin1 maps bytes 1:1 and the checks look at ASCII only.
  for (const line of buf.toString('latin1').split(/\r\n|\r|\n/)) {
    if (line === '') {
      firstData = true;
      continue;
    }
    if (line.startsWith(':')) continue;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    if (field !== 'data') {
      if (field === 'event' || field === 'id' || field === 'retry') continue;
      throw badStream(`the upstream stream is malformed (a line starting ${JSON.stringify(line.slice(0, 20))})`);
    }
    sawData = true;
    if (!firstData) continue;
    firstData = false;
    const value = line.slice(colon + 1).trimStart();
    if (value === '[DONE]') sawDone = true;
    else if (!value.startsWith('{')) throw badStream(`the upstream stream is malformed (data that is not a JSON object: ${JSON.stringify(value.slice(0, 20))})`);
  }
  return (sawDone ? SAW_DONE : 0) | (sawData ? SAW_DATA : 0);
}

const EMPTY = Buffer.alloc(0);
const BOM = Buffer.from([0xef, 0xbb, 0xbf]);

/** The index just past the last blank line (`\n\n`, `\r\n\r\n` or `\r\r`), or -1. */
function lastBoundaryEnd(buf: Buffer): number {
  const lf = buf.lastIndexOf('\n\n');
  const crlf = buf.lastIndexOf('\r\n\r\n');
  const cr = buf.lastIndexOf('\r\r');
  return Math.max(lf < 0 ? -1 : lf + 2, crlf < 0 ? -1 : crlf + 4, cr < 0 ? -1 : cr + 2);
}

function tailBytes(parts: Buffer[], n: number): Buffer {
  const last = parts[parts.length - 1]!;
  if (last.length >= n || parts.length === 1) return last.subarray(Math.max(0, last.length - n));
  return Buffer.concat(parts).subarray(-n);
}

function isWhitespace(b: Buffer): boolean {
  for (const byte of b) if (byte !== 0x0a && byte !== 0x0d && byte !== 0x20 && byte !== 0x09) return false;
  return true;
}
