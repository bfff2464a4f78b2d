import { describe, expect, it } from 'vitest';
import { api } from '../helpers/server.js';
import { CLIENT_SYSTEM, useSurfaceHarness } from '../helpers/surfaces.js';

/**
 * The turns of a chat-completions history as an `anthropic` policy gets them (translated to Messages):
 * every turn the client sent reaches the model as what it said, in its order.
 */
const s = useSurfaceHarness(['anthropic']);
let n = 0;

async function chat(body: Record<string, unknown>): Promise<{ status: number; body: any; rid: string }> {
  const rid = `chat-turns-${n++}`;
  const res = await api(s.jobs.get('anthropic')!.proxyUrl, 'POST', `/${rid}/chat/completions`, { body: { model: 'gpt-4o-mini', ...body } });
  return { status: res.status, body: res.body, rid };
}

const sentMessages = (): unknown[] => (s.h.anthropic.requests.at(-1)!.body as { messages: unknown[] }).messages;

describe('an assistant turn that holds only a refusal', () => {
  // What OpenAI answered to a refused request (`content: null, refusal: "..."`), sent back as history.
  const REFUSAL = "I'm sorry, I can't help with that.";
  const history = [
    { role: 'system', content: CLIENT_SYSTEM },
    { role: 'user', content: 'Something harmful' },
    { role: 'assistant', content: null, refusal: REFUSAL },
    { role: 'user', content: 'Then the capital of France?' },
  ];

  it.each([false, true])('goes to Anthropic as the assistant\'s text (stream %s)', async (stream) => {
    const res = await chat({ messages: history, stream });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(sentMessages()).toEqual([
      { role: 'user', content: [{ type: 'text', text: 'Something harmful' }] },
      { role: 'assistant', content: [{ type: 'text', text: REFUSAL }] },
      { role: 'user', content: [{ type: 'text', text: 'Then the capital of France?' }] },
    ]);
  });

  it('a refusal that is not a string is a 422 naming it', async () => {
    const res = await chat({ messages: [history[0], history[1], { role: 'assistant', content: null, refusal: 5 }, history[3]] });
    expect(res.status).toBe(422);
    expect(res.body.error.message).toContain('messages.2.refusal');
    expect(s.h.anthropic.requests).toHaveLength(0);
  });
});

describe('a chat history ending with an assistant turn', () => {
  // A chat model answers a final assistant turn with a new turn; Anthropic would continue its text
  // (a prefill), and models without prefill refuse it. The mirror of messagesPrefill.test.ts.
  const ending = [{ role: 'system', content: CLIENT_SYSTEM }, { role: 'user', content: 'Capital of France?' }, { role: 'assistant', content: 'The capital' }];

  it.each([false, true])('is a 422 naming the turn, with nothing sent or recorded (stream %s)', async (stream) => {
    const res = await chat({ messages: ending, stream });
    expect(res.status).toBe(422);
    expect(res.body.error.message).toMatch(/messages\.2: a final assistant turn would be continued by anthropic \(a prefill\)/);
    expect(s.h.anthropic.requests).toHaveLength(0);
    const job = s.jobs.get('anthropic')!;
    expect((await api(s.h.t.url, 'GET', `/api/systems/${job.systemId}/rollouts/${res.rid}`, { key: s.h.t.key })).status).toBe(404);
  });

  it('Responses translated: a final assistant message item is a 422 naming the item', async () => {
    const body = { model: 'm', instructions: CLIENT_SYSTEM, input: [{ role: 'user', content: 'Capital of France?' }, { role: 'assistant', content: 'The capital' }] };
    const res = await api(s.jobs.get('anthropic')!.proxyUrl, 'POST', `/chat-turns-${n++}/responses`, { body });
    expect(res.status).toBe(422);
    expect(res.body.error.message).toMatch(/input\.1: a final assistant turn would be continued by anthropic/);
    expect(s.h.anthropic.requests).toHaveLength(0);
  });

  it('an assistant turn followed by the user\'s, or a final turn of tool calls answered by tool messages, still goes', async () => {
    expect((await chat({ messages: [...ending, { role: 'user', content: 'Go on.' }] })).status).toBe(200);
    const call = { id: 'call_1', type: 'function', function: { name: 'weather', arguments: '{}' } };
    const tools = [{ type: 'function', function: { name: 'weather', parameters: { type: 'object', properties: {} } } }];
    const res = await chat({ tools, messages: [...ending.slice(0, 2), { role: 'assistant', content: null, tool_calls: [call] }, { role: 'tool', tool_call_id: 'call_1', content: 'sunny' }] });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(s.h.anthropic.requests).toHaveLength(2);
  });
});
