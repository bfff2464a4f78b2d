import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FakeUpstream, startFakeUpstream } from '../fakes/fakeUpstream.js';
import { type TestServer, api, seedJobBody, startTestServer } from '../helpers/server.js';

/**
 * A tool loop on an OpenAI reasoning model through the native Responses path. miprox sends every
 * call with `store: false`, so OpenAI keeps none of the answer's items: a reasoning item can come
 * back only with its `encrypted_content`, and one with only its id is OpenAI's 400 "Item with id
 * 'rs_...' not found. Items are not persisted when `store` is set to false. Try again with `store`
 * set to true, or remove this item from your input." (openai-node src/resources/responses/responses.ts,
 * ResponseIncludable: `reasoning.encrypted_content` "enables reasoning items to be used in
 * multi-turn conversations when using the Responses API statelessly").
 */
describe('reasoning items of a Responses tool loop, natively', () => {
  let openai: FakeUpstream;
  let t: TestServer;
  let proxy: string;
  const user = { role: 'user', content: 'Where is my card?' };
  const call = { type: 'function_call', id: 'fc_1', call_id: 'call_1', name: 'lookup', arguments: '{"q":"card"}' };
  const output = { type: 'function_call_output', call_id: 'call_1', output: 'shipped' };

  beforeAll(async () => {
    openai = await startFakeUpstream({ reply: 'It shipped.' });
    t = await startTestServer({ env: { OPENAI_API_KEY: 'sk-test', OPENAI_BASE_URL: openai.url } });
    const body = seedJobBody({ model: 'gpt-5-mini', initialPrompt: 'Answer.' });
    Object.assign(body.policy_optimization.policy, { temperature: null, max_completion_tokens: 4096 });
    const s = (await api(t.url, 'POST', '/api/v1/online/sessions', { key: t.key, body: { config_body: body } })).body as { proxy_url: string };
    proxy = s.proxy_url;
  });
  afterAll(async () => {
    await t.close();
    await openai.close();
  });

  it('leaves out a reasoning item OpenAI cannot look up, and asks for encrypted reasoning from then on', async () => {
    const before = openai.requests.length;
    const reasoning = { type: 'reasoning', id: 'rs_1', summary: [] }; // the first answer, asked without `reasoning`
    const res = await api(proxy, 'POST', '/loop-1/v1/responses', { body: { model: 'gpt-5-mini', instructions: 'Answer.', input: [user, reasoning, call, output] } });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    const sent = openai.requests.slice(before);
    expect(sent).toHaveLength(1);
    expect(sent[0]!.body).toEqual({
      model: 'gpt-5-mini', instructions: 'Answer.', input: [user, call, output],
      store: false, max_output_tokens: 4096, include: ['reasoning.encrypted_content'],
    });
  });

  it('sends a reasoning item with its encrypted content as the client sent it', async () => {
    const before = openai.requests.length;
    const reasoning = { type: 'reasoning', id: 'rs_2', summary: [], encrypted_content: 'gAAAAB-opaque' };
    const res = await api(proxy, 'POST', '/loop-2/v1/responses', { body: { model: 'gpt-5-mini', instructions: 'Answer.', reasoning: { effort: 'low' }, input: [user, reasoning, call, output] } });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(openai.requests.slice(before)[0]!.body).toMatchObject({ input: [user, reasoning, call, output], include: ['reasoning.encrypted_content'], reasoning: { effort: 'low' } });
  });

  it('names the client\'s own item when OpenAI refuses one after the item left out', async () => {
    openai.setBehavior({ reply: 'It shipped.', fail: { status: 400, message: 'Invalid output.', type: 'invalid_request_error', param: 'input[2].output' } });
    try {
      const reasoning = { type: 'reasoning', id: 'rs_3', summary: [] };
      const res = await api(proxy, 'POST', '/loop-3/v1/responses', { body: { model: 'gpt-5-mini', instructions: 'Answer.', input: [user, reasoning, call, output] } });
      expect(res.status).toBe(400);
      // OpenAI's input[2] is the client's input[3]: the function_call_output, not the call before it.
      expect((res.body as { error: { param: string | null } }).error.param).toBe('input[3].output');
    } finally {
      openai.setBehavior({ reply: 'It shipped.' });
    }
  });
});
