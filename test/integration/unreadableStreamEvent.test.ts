import { describe, expect, it } from 'vitest';
import { useSurfaceHarness } from '../helpers/surfaces.js';

/**
 * An Anthropic stream event whose data is JSON but not an object (`data: null`) is a broken stream,
 * on every surface. The native Messages relay refused it (its framing takes only JSON objects) while
 * the translation to chat completions skipped it and answered as if whole. @anthropic-ai/sdk parses a
 * message event's data and reads `.type` on it, so a relayed null would break the client anyway.
 */
const s = useSurfaceHarness(['anthropic']);
let n = 0;

async function post(path: string, body: unknown): Promise<{ status: number; text: string }> {
  const res = await fetch(`${s.jobs.get('anthropic')!.proxyUrl}/ev${n++}/${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: res.status, text: await res.text() };
}

describe.each(['null', '42', '"text"', '[1]'])('an anthropic stream event with data %s', (data) => {
  const rawEvent = { after: 3, event: `event: content_block_delta\ndata: ${data}\n\n` };

  it('ends a chat stream with an error', async () => {
    s.h.anthropic.setBehavior({ reply: 'Paris.', rawEvent });
    const res = await post('chat/completions', { model: 'x', messages: [{ role: 'user', content: 'Capital of France?' }], stream: true });
    expect(res.status).toBe(200);
    expect(res.text).toContain('"error"');
    expect(res.text).toContain('unreadable stream event');
    expect(res.text).not.toContain('[DONE]');
  });

  it('ends a native Messages stream with an error', async () => {
    s.h.anthropic.setBehavior({ reply: 'Paris.', rawEvent });
    const res = await post('messages', { model: 'x', max_tokens: 100, messages: [{ role: 'user', content: 'Capital of France?' }], stream: true });
    expect(res.status).toBe(200);
    expect(res.text).toContain('event: error');
    expect(res.text).not.toContain('message_stop');
  });
});
