import { describe, expect, it } from 'vitest';
import { SseParser, parseSse, type SseEvent } from '../../../src/providers/sse.js';
import { cutBytes, iterate, readSseFixture } from '../../fixtures/fixtures.js';

function parseAll(pieces: ReadonlyArray<Uint8Array | string>): SseEvent[] {
  const p = new SseParser();
  const out: SseEvent[] = [];
  for (const piece of pieces) out.push(...p.push(piece));
  out.push(...p.end());
  return out;
}

const enc = new TextEncoder();

describe('SseParser', () => {
  it('parses named events with data, ignoring comments and unknown fields', () => {
    const events = parseAll([': keep-alive\nevent: ping\ndata: {"a":1}\nretry: 100\nfoo: bar\n\ndata:x\n\n']);
    expect(events).toEqual([
      { event: 'ping', data: '{"a":1}', id: undefined },
      { event: undefined, data: 'x', id: undefined },
    ]);
  });

  it('joins multi-line data with \\n and keeps only one leading space off the value', () => {
    expect(parseAll(['data:  two spaces\ndata: second\ndata\n\n'])).toEqual([
      { event: undefined, data: ' two spaces\nsecond\n', id: undefined },
    ]);
  });

  it('accepts \\r\\n and lone \\r line endings, including a \\r\\n split across chunks', () => {
    const crlf = parseAll(['data: a\r', '\n\r', '\ndata: b\r\r']);
    expect(crlf.map((e) => e.data)).toEqual(['a', 'b']);
    expect(parseAll(['data: a\r\rdata: b\n\n']).map((e) => e.data)).toEqual(['a', 'b']);
  });

  it('does not dispatch an event without data, and resets the event name after dispatch', () => {
    expect(parseAll(['event: lonely\n\ndata: x\n\n'])).toEqual([{ event: undefined, data: 'x', id: undefined }]);
  });

  it('keeps the last id across events', () => {
    expect(parseAll(['id: 7\ndata: a\n\ndata: b\n\n']).map((e) => e.id)).toEqual(['7', '7']);
  });

  it('delivers a final event that lacks its blank line at end of stream', () => {
    expect(parseAll(['data: [DONE]']).map((e) => e.data)).toEqual(['[DONE]']);
  });

  it('gives the same events whatever the chunk boundaries, including mid UTF-8 character', () => {
    for (const name of ['openai-text-usage.sse', 'anthropic-text-tool-use.sse'] as const) {
      const bytes = readSseFixture(name);
      const whole = parseAll([bytes]);
      expect(whole.length).toBeGreaterThan(3);
      for (const size of [1, 2, 3, 5, 7, 64]) {
        expect(parseAll(cutBytes(bytes, size)), `${name} cut every ${size} bytes`).toEqual(whole);
      }
    }
    const text = readSseFixture('openai-text-usage.sse');
    const dataWithAccent = parseAll(cutBytes(text, 1)).find((e) => e.data.includes('card_arrival'));
    expect(dataWithAccent?.data).toContain('card_arrival — ✓ é');
  });

  it('reads a long line that arrives in many small pieces in linear time', () => {
    // An upstream (a tenant's openai_compatible server) chooses how its stream is cut: a 2 MB data line
    // in 100-byte pieces was joined and searched again at each piece, ~12 s of the event loop.
    const piece = enc.encode('x'.repeat(100));
    const p = new SseParser();
    const started = Date.now();
    expect(p.push('event: big\ndata: ')).toEqual([]);
    // Only the parser inside the timed loop (20,000 expect() calls took most of a second on a loaded machine).
    let early = 0;
    for (let i = 0; i < 20_000; i++) early += p.push(piece).length;
    const [event] = p.push('\r\n\r\n');
    expect(Date.now() - started).toBeLessThan(1000);
    expect(early).toBe(0);
    expect(event).toEqual({ event: 'big', data: 'x'.repeat(2_000_000), id: undefined });
    // Pieces of one byte (kept in blocks, not as millions of strings), and a line the stream's end completes.
    const bytes = enc.encode(`data: ${'é'.repeat(3_000)}\n\ndata: ${'y'.repeat(5_000)}`);
    expect(parseAll(cutBytes(bytes, 1)).map((e) => e.data)).toEqual(['é'.repeat(3_000), 'y'.repeat(5_000)]);
  });

  it('parses the same stream with CRLF line endings', () => {
    const bytes = readSseFixture('openai-text-usage.sse').toString('utf8');
    const crlf = enc.encode(bytes.replace(/\n/g, '\r\n'));
    expect(parseAll(cutBytes(crlf, 3))).toEqual(parseAll([bytes]));
  });

  it('parseSse yields every event of an async byte stream', async () => {
    const out: string[] = [];
    for await (const ev of parseSse(iterate(cutBytes(readSseFixture('openai-tool-calls.sse'), 11)))) out.push(ev.data);
    expect(out).toHaveLength(7);
    expect(out[6]).toBe('[DONE]');
  });
});
