import { describe, expect, it } from 'vitest';
import { ChatCompletionChunkSchema, ChatCompletionSchema, type ChatCompletionRequest } from '../../../src/schemas/openai.js';
import { UpstreamError } from '../../../src/shared/errors.js';
import { createPolicySimulator } from '../../../src/providers/sim/policySimulator.js';
import { createBankingTask } from '../../../src/providers/sim/bankingTask.js';
import type { StreamResult } from '../../../src/providers/types.js';

const task = createBankingTask();
const fixedClock = { now: () => Date.UTC(2025, 0, 2, 3, 4, 5) };

function request(extra: Partial<ChatCompletionRequest> = {}): ChatCompletionRequest {
  return {
    model: 'sim-policy',
    messages: [
      { role: 'system', content: task.baselineInstruction },
      { role: 'user', content: task.userMessage(1) },
    ],
    seed: 11,
    ...extra,
  };
}

async function readSse(result: StreamResult): Promise<string[]> {
  const decoder = new TextDecoder();
  let text = '';
  for await (const bytes of result.body) text += decoder.decode(bytes, { stream: true });
  expect(text.endsWith('\n\n')).toBe(true);
  return text.split('\n\n').filter((e) => e.length > 0);
}

describe('simulator responses in OpenAI shape', () => {
  it('answers a completion that the OpenAI schema accepts, labelled as a simulator', async () => {
    const policy = createPolicySimulator({ task, clock: fixedClock });
    const res = await policy.complete(request());
    expect(ChatCompletionSchema.parse(JSON.parse(res.raw))).toEqual(res.json);
    expect(res.attempts).toBe(1);
    expect(res.json.object).toBe('chat.completion');
    expect(res.json.id).toMatch(/^simcmpl-[0-9a-f]{16}$/);
    expect(res.json.model).toBe('sim-policy (simulator)');
    expect(res.json.created).toBe(Math.floor(fixedClock.now() / 1000));
    const choice = res.json.choices[0];
    expect(choice?.message.role).toBe('assistant');
    expect(typeof choice?.message.content).toBe('string');
    expect(choice?.finish_reason).toBe('stop');
    const usage = res.json.usage;
    expect(usage?.prompt_tokens).toBeGreaterThan(0);
    expect(usage?.completion_tokens).toBeGreaterThan(0);
    expect(usage?.total_tokens).toBe((usage?.prompt_tokens ?? 0) + (usage?.completion_tokens ?? 0));
  });

  it('streams OpenAI SSE chunks that add up to the same answer and end with [DONE]', async () => {
    const policy = createPolicySimulator({ task, clock: fixedClock });
    const whole = await policy.complete(request({ messages: [{ role: 'system', content: 'Explain your reasoning step by step.' }, { role: 'user', content: task.userMessage(5) }] }));
    const events = await readSse(await policy.stream(request({ stream: true, messages: [{ role: 'system', content: 'Explain your reasoning step by step.' }, { role: 'user', content: task.userMessage(5) }] })));
    expect(events.at(-1)).toBe('data: [DONE]');
    const chunks = events.slice(0, -1).map((e) => {
      expect(e.startsWith('data: ')).toBe(true);
      return ChatCompletionChunkSchema.parse(JSON.parse(e.slice('data: '.length)));
    });
    expect(chunks.length).toBeGreaterThanOrEqual(3);
    expect(chunks.every((c) => c.object === 'chat.completion.chunk' && c.id === chunks[0]?.id)).toBe(true);
    expect(chunks[0]?.choices[0]?.delta.role).toBe('assistant');
    expect(chunks.at(-1)?.choices[0]?.finish_reason).toBe('stop');
    expect(chunks.every((c) => !('usage' in c))).toBe(true);
    const streamed = chunks.map((c) => c.choices[0]?.delta.content ?? '').join('');
    expect(streamed).toBe(whole.json.choices[0]?.message.content);
  });

  it('adds the usage chunk (empty choices) when stream_options.include_usage is set', async () => {
    const policy = createPolicySimulator({ task, clock: fixedClock });
    const events = await readSse(await policy.stream(request({ stream: true, stream_options: { include_usage: true } })));
    const chunks = events.slice(0, -1).map((e) => ChatCompletionChunkSchema.parse(JSON.parse(e.slice(6))));
    const last = chunks.at(-1);
    expect(last?.choices).toEqual([]);
    expect(last?.usage?.total_tokens).toBeGreaterThan(0);
    expect(chunks.slice(0, -1).every((c) => c.usage === null)).toBe(true);
  });

  it('stops at max_completion_tokens with finish_reason "length"', async () => {
    const policy = createPolicySimulator({ task });
    const res = await policy.complete(request({ max_completion_tokens: 1 }));
    expect(res.json.choices[0]?.finish_reason).toBe('length');
    expect(res.json.choices[0]?.message.content?.length).toBeLessThanOrEqual(4);
  });

  it('reads the instruction and query from content parts too', async () => {
    const policy = createPolicySimulator({ task });
    const parts = await policy.complete(
      request({
        messages: [
          { role: 'system', content: [{ type: 'text', text: task.baselineInstruction }] },
          { role: 'user', content: [{ type: 'text', text: task.userMessage(1) }] },
        ],
      }),
    );
    const plain = await createPolicySimulator({ task }).complete(request());
    expect(parts.json.choices[0]?.message.content).toBe(plain.json.choices[0]?.message.content);
  });

  it('fails with typed errors when aborted or slower than the timeout', async () => {
    const policy = createPolicySimulator({ task, latencyMs: 200 });
    const controller = new AbortController();
    controller.abort();
    await expect(policy.complete(request(), { signal: controller.signal })).rejects.toBeInstanceOf(UpstreamError);
    const late = new AbortController();
    const pending = policy.complete(request(), { signal: late.signal });
    late.abort();
    await expect(pending).rejects.toBeInstanceOf(UpstreamError);
    await expect(policy.complete(request(), { timeoutMs: 5 })).rejects.toMatchObject({ status: 504 });
  });

  it('stops a stream when the caller aborts between chunks', async () => {
    const policy = createPolicySimulator({ task, chunkDelayMs: 20 });
    const controller = new AbortController();
    const result = await policy.stream(request({ stream: true }), { signal: controller.signal });
    const iterator = result.body[Symbol.asyncIterator]();
    await iterator.next();
    controller.abort();
    await expect(iterator.next()).rejects.toBeInstanceOf(UpstreamError);
  });
});
