/**
 * A small incremental parser for server-sent events (the WHATWG event-stream format): bytes arrive in
 * arbitrary pieces (mid-line, mid-UTF-8 character, a `\r\n` split across two pieces), events come out
 * whole. Used to translate Anthropic streams and to summarise OpenAI streams while they are relayed.
 */
export interface SseEvent {
  /** The `event:` field, if any (Anthropic names every event; OpenAI names none). */
  event: string | undefined;
  /** The `data:` lines joined with `\n`. */
  data: string;
  id: string | undefined;
}

const LF = 10;
const CR = 13;
/** Pieces of an unfinished line kept apart before they are joined into one block (SseParser.pending*). */
const PIECES_PER_BLOCK = 1024;

export class SseParser {
  private readonly decoder = new TextDecoder('utf-8');
  /**
   * The unfinished line. It holds no line break (or it would have been read), so only a new piece can
   * end it: a piece without one is only kept. Joined and searched again at each piece, a long line
   * that came in many small pieces cost the square of its length (a `data:` line of 1 MB in 100-byte
   * pieces: 3 s of the event loop), and an upstream (a tenant's `openai_compatible` server) may send
   * 16 MiB so. Pieces are joined into blocks PIECES_PER_BLOCK at a time, so a line of one-byte pieces
   * is not millions of strings; each character is copied twice in all.
   */
  private pendingBlocks: string[] = [];
  private pendingPieces: string[] = [];
  /** The previous piece ended with `\r`: a `\n` starting the next one belongs to that line break. */
  private afterCR = false;
  private dataLines: string[] = [];
  private eventName: string | undefined;
  private lastId: string | undefined;
  /** The current block has a line of no known field (neither data, event, id, retry nor a comment). */
  private strayLine = false;
  /**
   * Blocks ended so far that dispatched no event though they had a line of no known field (a
   * malformed stream, not a keep-alive): the stream start check stops at one (upstreamTransport.ts).
   */
  strayBlocks = 0;

  /** Feeds a piece of the stream; returns the events it completed. */
  push(chunk: Uint8Array | string): SseEvent[] {
    let text = typeof chunk === 'string' ? chunk : this.decoder.decode(chunk, { stream: true });
    if (this.afterCR && text.charCodeAt(0) === LF) text = text.slice(1);
    this.afterCR = false;
    const hasCR = text.includes('\r');
    if (!hasCR && !text.includes('\n')) {
      this.keep(text);
      return [];
    }
    const buf = this.pendingPieces.length === 0 && this.pendingBlocks.length === 0 ? text : this.takePending() + text;
    const out: SseEvent[] = [];
    const lineStart = hasCR ? this.scanAnyEol(buf, out) : this.scanLf(buf, out);
    if (lineStart < buf.length) this.keep(buf.slice(lineStart));
    return out;
  }

  private keep(piece: string): void {
    if (piece.length === 0) return;
    this.pendingPieces.push(piece);
    if (this.pendingPieces.length < PIECES_PER_BLOCK) return;
    this.pendingBlocks.push(this.pendingPieces.join(''));
    this.pendingPieces = [];
  }

  /** The unfinished line as one string, and none kept. */
  private takePending(): string {
    const line = this.pendingBlocks.join('') + this.pendingPieces.join('');
    this.pendingBlocks = [];
    this.pendingPieces = [];
    return line;
  }

  /** The common case (no `\r` anywhere): let indexOf find the line ends. */
  private scanLf(buf: string, out: SseEvent[]): number {
    let lineStart = 0;
    for (let eol = buf.indexOf('\n'); eol !== -1; eol = buf.indexOf('\n', lineStart)) {
      this.line(buf.slice(lineStart, eol), out);
      lineStart = eol + 1;
    }
    return lineStart;
  }

  /** `\r\n`, `\r` and `\n` all end a line. */
  private scanAnyEol(buf: string, out: SseEvent[]): number {
    let lineStart = 0;
    for (let i = 0; i < buf.length; i++) {
      const c = buf.charCodeAt(i);
      if (c !== LF && c !== CR) continue;
      this.line(buf.slice(lineStart, i), out);
      if (c === CR) {
        if (i + 1 < buf.length) {
          if (buf.charCodeAt(i + 1) === LF) i++;
        } else {
          this.afterCR = true;
        }
      }
      lineStart = i + 1;
    }
    return lineStart;
  }

  /**
   * The stream ended. Unlike a browser, a final event without its blank line is still delivered:
   * for a relay summary, a truncated last event is better kept than silently dropped.
   */
  end(): SseEvent[] {
    const out: SseEvent[] = [];
    const rest = this.takePending() + this.decoder.decode();
    if (rest.length > 0) this.line(rest, out);
    this.dispatch(out);
    return out;
  }

  private line(line: string, out: SseEvent[]): void {
    if (line.length === 0) {
      this.dispatch(out);
      return;
    }
    if (line.startsWith('data: ')) {
      this.dataLines.push(line.slice(6));
      return;
    }
    if (line.charCodeAt(0) === 58 /* ':' comment */) return;
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.charCodeAt(0) === 32) value = value.slice(1);
    switch (field) {
      case 'data':
        this.dataLines.push(value);
        break;
      case 'event':
        this.eventName = value;
        break;
      case 'id':
        if (!value.includes('\0')) this.lastId = value;
        break;
      case 'retry':
        break;
      default:
        // Unknown fields do not matter to a relay; a block of nothing else is counted (strayBlocks).
        this.strayLine = true;
        break;
    }
  }

  private dispatch(out: SseEvent[]): void {
    if (this.strayLine && this.dataLines.length === 0) this.strayBlocks += 1;
    this.strayLine = false;
    if (this.dataLines.length > 0) {
      const data = this.dataLines.length === 1 ? (this.dataLines[0] ?? '') : this.dataLines.join('\n');
      out.push({ event: this.eventName, data, id: this.lastId });
    }
    this.dataLines = [];
    this.eventName = undefined;
  }
}
