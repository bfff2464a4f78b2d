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

export class SseParser {
  private readonly decoder = new TextDecoder('utf-8');
  private pending = '';
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
    const buf = this.pending.length > 0 ? this.pending + text : text;
    const out: SseEvent[] = [];
    const lineStart = buf.includes('\r') ? this.scanAnyEol(buf, out) : this.scanLf(buf, out);
    this.pending = lineStart < buf.length ? buf.slice(lineStart) : '';
    return out;
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
    const rest = this.pending + this.decoder.decode();
    this.pending = '';
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
