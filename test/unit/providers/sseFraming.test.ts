import { describe, expect, it } from 'vitest';
import { wholeEvents } from '../../../src/providers/sseFraming.js';

async function* pieces(parts: string[]): AsyncGenerator<Uint8Array> {
  for (const p of parts) yield new TextEncoder().encode(p);
}
async function collect(parts: string[]): Promise<string[]> {
  const out: string[] = [];
  for await (const chunk of wholeEvents(pieces(parts))) out.push(Buffer.from(chunk).toString('utf8'));
  return out;
}
/** Collects what was relayed before the stream failed, and the failure. */
async function failing(parts: string[]): Promise<{ relayed: string[]; error: unknown }> {
  const relayed: string[] = [];
  try {
    for await (const c of wholeEvents(pieces(parts))) relayed.push(Buffer.from(c).toString());
  } catch (error) {
    return { relayed, error };
  }
  throw new Error('the stream did not fail');
}

describe('wholeEvents', () => {
  const stream = 'data: {"a":1}\n\ndata: {"b":"é"}\n\n: keep-alive\n\nevent: x\ndata: {"c":3}\n\ndata: [DONE]\n\n';

  it('passes pieces that already end on event boundaries through unchanged', async () => {
    expect(await collect(['data: {"a":1}\n\n', 'data: {"b":2}\n\ndata: [DONE]\n\n'])).toEqual(['data: {"a":1}\n\n', 'data: {"b":2}\n\ndata: [DONE]\n\n']);
  });

  it('regroups every split of a stream into pieces ending on boundaries, bytes unchanged', async () => {
    const bytes = Buffer.from(stream);
    for (let size = 1; size <= bytes.length; size++) {
      const parts: Uint8Array[] = [];
      for (let i = 0; i < bytes.length; i += size) parts.push(bytes.subarray(i, i + size));
      const out: Buffer[] = [];
      for await (const c of wholeEvents((async function* () { yield* parts; })())) out.push(Buffer.from(c));
      expect(Buffer.concat(out).toString(), `size ${size}`).toBe(stream);
      for (const piece of out) expect(piece.toString().endsWith('\n\n'), `size ${size}`).toBe(true);
    }
  });

  it('finds CRLF boundaries split across pieces', async () => {
    expect(await collect(['data: {}\r\n\r', '\ndata: [DONE]\r\n', '\r\n'])).toEqual(['data: {}\r\n\r\n', 'data: [DONE]\r\n\r\n']);
  });

  it('fails a stream that ends in the middle of an event, after relaying the whole ones', async () => {
    const { relayed, error } = await failing(['data: {"a":1}\n\ndata: {"cut', ' here']);
    expect(error).toMatchObject({ status: 502, code: 'upstream_bad_stream', message: expect.stringMatching(/middle of an event/) });
    expect(relayed).toEqual(['data: {"a":1}\n\n']);
  });

  it('calls a stream that ends before its first whole event a cut (upstream_stream_error), not a malformed stream', async () => {
    for (const parts of [[], ['data: {"cut'], ['\n']]) {
      const { relayed, error } = await failing(parts);
      expect(error).toMatchObject({ status: 502, code: 'upstream_stream_error', message: expect.stringMatching(/before its first event/) });
      expect(relayed).toEqual([]);
    }
  });

  it('fails a stream that ends without [DONE]', async () => {
    const { relayed, error } = await failing(['data: {"a":1}\n\n']);
    expect(error).toMatchObject({ code: 'upstream_bad_stream', message: expect.stringMatching(/without data: \[DONE\]/) });
    expect(relayed).toEqual(['data: {"a":1}\n\n']);
  });

  it('refuses malformed events before relaying them', async () => {
    for (const bad of ['hello world\n\n', 'data: not json\n\n', '<html>oops</html>\n\n']) {
      const { relayed, error } = await failing(['data: {"a":1}\n\n', bad, 'data: [DONE]\n\n']);
      expect(error, bad).toMatchObject({ code: 'upstream_bad_stream', message: expect.stringMatching(/malformed/) });
      expect(relayed).toEqual(['data: {"a":1}\n\n']);
    }
  });

  it('drops a byte order mark that opens the stream, whole or split over the first pieces, as an event-stream parser does', async () => {
    const answer = 'data: {"a":1}\n\ndata: [DONE]\n\n';
    expect((await collect([`\ufeff${answer}`])).join('')).toBe(answer);
    const bom = '\ufeff';
    const bytes = Buffer.from(bom + answer, 'utf8');
    const split: AsyncGenerator<Uint8Array> = (async function* () {
      yield bytes.subarray(0, 1);
      yield bytes.subarray(1, 2);
      yield bytes.subarray(2, 9);
      yield bytes.subarray(9);
    })();
    let out = '';
    for await (const c of wholeEvents(split)) out += Buffer.from(c).toString('utf8');
    expect(out).toBe(answer);
    // Only the stream's opening: one inside an event's data is the data's.
    expect((await collect([`data: {"a":"${bom}"}\n\ndata: [DONE]\n\n`])).join('')).toBe(`data: {"a":"${bom}"}\n\ndata: [DONE]\n\n`);
  });

  it('relays nothing of a stream of comments (and retry: lines) that ends before its first event, with or without [DONE] required', async () => {
    const comments = [': keep-alive\n\n', 'retry: 3000\n\n: keep-alive\n\n'];
    const { relayed, error } = await failing(comments);
    expect(relayed).toEqual([]);
    expect(error).toMatchObject({ code: 'upstream_stream_error', message: 'the upstream stream ended before its first event' });
    // Messages and Responses: nothing relayed, their reader then answers as for an empty stream.
    const out: string[] = [];
    for await (const c of wholeEvents(pieces(comments), false)) out.push(Buffer.from(c).toString());
    expect(out).toEqual([]);
    // Held comments go out with the first event, in order.
    expect((await collect([...comments, 'data: {"a":1}\n\ndata: [DONE]\n\n'])).join('')).toBe(`${comments.join('')}data: {"a":1}\n\ndata: [DONE]\n\n`);
  });

  it('accepts trailing blank lines at the end', async () => {
    expect((await collect(['data: [DONE]\n\n', '\n'])).join('')).toBe('data: [DONE]\n\n');
  });
});
