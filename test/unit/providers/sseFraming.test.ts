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

describe('wholeEvents', () => {
  const stream = 'data: {"a":1}\n\ndata: {"b":2}\n\ndata: [DONE]\n\n';

  it('passes pieces that already end on event boundaries through unchanged', async () => {
    expect(await collect(['data: 1\n\n', 'data: 2\n\ndata: 3\n\n'])).toEqual(['data: 1\n\n', 'data: 2\n\ndata: 3\n\n']);
  });

  it('regroups every split of a stream into pieces ending on boundaries, bytes unchanged', async () => {
    for (let size = 1; size <= stream.length; size++) {
      const parts: string[] = [];
      for (let i = 0; i < stream.length; i += size) parts.push(stream.slice(i, i + size));
      const out = await collect(parts);
      expect(out.join(''), `size ${size}`).toBe(stream);
      for (const piece of out) expect(piece.endsWith('\n\n'), `size ${size}: ${JSON.stringify(piece)}`).toBe(true);
    }
  });

  it('finds CRLF boundaries split across pieces', async () => {
    expect(await collect(['data: 1\r\n\r', '\ndata: 2\r\n', '\r\n'])).toEqual(['data: 1\r\n\r\n', 'data: 2\r\n\r\n']);
  });

  it('fails a stream that ends in the middle of an event, after relaying the whole ones', async () => {
    const got: string[] = [];
    await expect((async () => {
      for await (const c of wholeEvents(pieces(['data: 1\n\ndata: {"cut', ' here']))) got.push(Buffer.from(c).toString());
    })()).rejects.toMatchObject({ status: 502, code: 'upstream_bad_stream' });
    expect(got).toEqual(['data: 1\n\n']);
  });

  it('accepts trailing blank lines at the end', async () => {
    expect((await collect(['data: 1\n\n', '\n'])).join('')).toBe('data: 1\n\n');
  });
});
