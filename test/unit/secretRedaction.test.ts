import { describe, expect, it } from 'vitest';
import { redactingChunks, urlSecrets } from '../../src/providers/secretRedaction.js';

const KEY = 'sk-LEAKCANARY-0123';

async function relay(text: string, cuts: number[], secrets: string[] = [KEY]): Promise<{ out: string; pieces: number }> {
  const bytes = Buffer.from(text);
  const chunks: Uint8Array[] = [];
  let from = 0;
  for (const at of [...cuts, bytes.length]) { chunks.push(bytes.subarray(from, at)); from = at; }
  async function* source() { yield* chunks; }
  const got: Buffer[] = [];
  for await (const c of redactingChunks(source(), secrets)) got.push(Buffer.from(c));
  return { out: Buffer.concat(got).toString(), pieces: got.length };
}

describe('redactingChunks (a relayed upstream body without the server keys)', () => {
  const text = `data: {"error":{"message":"bad key ${KEY}"}}\n\n`;

  it('replaces a key wherever the chunks cut it', async () => {
    const start = text.indexOf(KEY);
    for (let cut = start - 1; cut <= start + KEY.length + 1; cut++) {
      const { out } = await relay(text, [cut]);
      expect(out).toBe('data: {"error":{"message":"bad key [redacted]"}}\n\n');
    }
    expect((await relay(text, [start + 2, start + 5, start + 9])).out).not.toContain('LEAKCANARY');
  });

  it('holds nothing back at an event boundary, and passes text that only begins like a key', async () => {
    const events = 'data: {"a":1}\n\ndata: {"b":2}\n\n';
    const { out, pieces } = await relay(events, [15]);
    expect(out).toBe(events);
    expect(pieces).toBe(2);
    expect((await relay('tail sk-LEAK', [])).out).toBe('tail sk-LEAK');
  });
});

describe('urlSecrets (credentials in an inference_url query)', () => {
  it('takes the values of credential parameters, as written and decoded, and leaves the others', () => {
    expect(urlSecrets('http://h/v1?api-version=2024-06-01&api_key=ab%2Fcd12&sig=s1g-value&x=1')).toEqual(['ab%2Fcd12', 'ab/cd12', 's1g-value']);
    expect(urlSecrets('http://h/v1')).toEqual([]);
  });
});
