import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChatCompletionRequestSchema } from '../../../src/schemas/openai.js';
import { createBankingTask } from '../../../src/providers/sim/bankingTask.js';
import { createPolicySimulator } from '../../../src/providers/sim/policySimulator.js';
import { readChatStream } from '../../helpers/readStream.js';

/** The official OpenAI client against the simulator behind a bare loopback server: the shapes must satisfy it. */
const task = createBankingTask();
const policy = createPolicySimulator({ task });
let server: Server;
let client: OpenAI;

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
    req.on('end', () => {
      void (async () => {
        const request = ChatCompletionRequestSchema.parse(JSON.parse(body));
        if (request.stream) {
          res.writeHead(200, { 'content-type': 'text/event-stream' });
          for await (const bytes of (await policy.stream(request)).body) res.write(bytes);
          res.end();
        } else {
          res.writeHead(200, { 'content-type': 'application/json' });
          res.end((await policy.complete(request)).raw);
        }
      })();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  client = new OpenAI({ apiKey: 'not-needed', baseURL: `http://127.0.0.1:${port}/v1`, maxRetries: 0 });
});

afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

const messages = [
  { role: 'system' as const, content: task.baselineInstruction },
  { role: 'user' as const, content: task.userMessage(3) },
];

describe('OpenAI client against the simulator', () => {
  it('reads a completion', async () => {
    const res = await client.chat.completions.create({ model: 'sim-policy', messages, seed: 4 });
    expect(res.model).toBe('sim-policy (simulator)');
    expect(res.choices[0]?.message.content?.length).toBeGreaterThan(0);
    expect(res.usage?.total_tokens).toBeGreaterThan(0);
  });

  it('reads a stream with usage, matching the non-streamed answer', async () => {
    const whole = await client.chat.completions.create({ model: 'sim-policy', messages, seed: 9 });
    const stream = await client.chat.completions.create({
      model: 'sim-policy',
      messages,
      seed: 9,
      stream: true,
      stream_options: { include_usage: true },
    });
    const { text, totalTokens } = await readChatStream(stream);
    expect(text).toBe(whole.choices[0]?.message.content);
    expect(totalTokens).toBeGreaterThan(0);
  });
});
