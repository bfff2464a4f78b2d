import type { ChatCompletion, ChatCompletionChunk, ChatCompletionRequest, ChatMessage, Usage } from '../../schemas/openai.js';

/** What a simulator decided to answer; the shapes around it are OpenAI's. */
export interface SimAnswer {
  id: string;
  /** Shown to clients: always says it is a simulator, e.g. "sim-policy (simulator)". */
  model: string;
  /** Unix seconds. */
  created: number;
  content: string;
  finishReason: 'stop' | 'length' | 'tool_calls';
  /** Tool calls (the request offered tools): sent with `content: null`. */
  toolCalls?: ReadonlyArray<{ id: string; name: string; arguments: string }> | undefined;
  usage: Required<Pick<Usage, 'prompt_tokens' | 'completion_tokens' | 'total_tokens'>>;
}

export const SIM_FINGERPRINT = 'fp_miprox_sim';

/** Rough token count (about four characters per token for English), only for usage numbers. */
export function estimateTokens(text: string): number {
  return text.length === 0 ? 0 : Math.ceil(text.length / 4);
}

export function messageText(message: ChatMessage): string {
  const { content } = message;
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content
    .map((part) => (typeof part['text'] === 'string' ? part['text'] : ''))
    .filter((t) => t.length > 0)
    .join('\n');
}

/** The instruction miprox injected: the first system (or developer) message. */
export function systemText(req: ChatCompletionRequest): string {
  const sys = req.messages.find((m) => m.role === 'system' || m.role === 'developer');
  return sys ? messageText(sys) : '';
}

export function lastUserText(req: ChatCompletionRequest): string {
  for (let i = req.messages.length - 1; i >= 0; i--) {
    const m = req.messages[i];
    if (m && m.role === 'user') return messageText(m);
  }
  return '';
}

export function promptTokens(req: ChatCompletionRequest): number {
  // About four tokens of chat framing per message, as OpenAI counts them.
  return req.messages.reduce((sum, m) => sum + 4 + estimateTokens(messageText(m)), 3);
}

export function buildCompletion(a: SimAnswer): ChatCompletion {
  return {
    id: a.id,
    object: 'chat.completion',
    created: a.created,
    model: a.model,
    system_fingerprint: SIM_FINGERPRINT,
    choices: [
      {
        index: 0,
        message: a.toolCalls !== undefined
          ? { role: 'assistant', content: null, refusal: null, tool_calls: a.toolCalls.map((c) => ({ id: c.id, type: 'function', function: { name: c.name, arguments: c.arguments } })) }
          : { role: 'assistant', content: a.content, refusal: null },
        logprobs: null,
        finish_reason: a.finishReason,
      },
    ],
    usage: { ...a.usage },
  };
}

/** Splits content the way streamed tokens arrive: a word and its trailing space per chunk. */
function contentPieces(content: string): string[] {
  return content.match(/\s*\S+\s*/g) ?? (content.length > 0 ? [content] : []);
}

/**
 * OpenAI's chunk sequence: a role chunk, content chunks, a chunk with the finish reason, and, when
 * the request asked for `stream_options.include_usage`, a last chunk with empty choices and the
 * usage (every earlier chunk then carries `usage: null`, as OpenAI sends it).
 */
export function buildChunks(a: SimAnswer, includeUsage: boolean): ChatCompletionChunk[] {
  const base = { id: a.id, object: 'chat.completion.chunk', created: a.created, model: a.model, system_fingerprint: SIM_FINGERPRINT };
  const withUsage = includeUsage ? { usage: null } : {};
  const choice = (delta: Record<string, unknown>, finish: string | null): ChatCompletionChunk['choices'][number] => ({
    index: 0,
    delta,
    logprobs: null,
    finish_reason: finish,
  });
  const chunks: ChatCompletionChunk[] = [
    { ...base, choices: [choice({ role: 'assistant', content: '', refusal: null }, null)], ...withUsage },
    ...contentPieces(a.content).map((piece) => ({ ...base, choices: [choice({ content: piece }, null)], ...withUsage })),
    ...(a.toolCalls ?? []).flatMap((c, index) => [
      { ...base, choices: [choice({ tool_calls: [{ index, id: c.id, type: 'function', function: { name: c.name, arguments: '' } }] }, null)], ...withUsage },
      { ...base, choices: [choice({ tool_calls: [{ index, function: { arguments: c.arguments } }] }, null)], ...withUsage },
    ]),
    { ...base, choices: [choice({}, a.finishReason)], ...withUsage },
  ];
  if (includeUsage) chunks.push({ ...base, choices: [], usage: { ...a.usage } });
  return chunks;
}

export function sseEvent(data: string): string {
  return `data: ${data}\n\n`;
}

export const SSE_DONE = 'data: [DONE]\n\n';
