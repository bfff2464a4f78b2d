import { ChatCompletionSchema, type ChatCompletion, type ChatCompletionRequest } from '../schemas/openai.js';
import { type FieldProblem, UpstreamError } from '../shared/errors.js';
import type { CallOptions, ChatProvider, CompletionResult, NativeApi, StreamResult } from './types.js';
import { toolNameProblem } from './toolNames.js';
import { parseErrorBody } from './upstreamErrors.js';
import { urlSecrets } from './secretRedaction.js';
import { releasing, UpstreamTransport, type TransportOptions } from './upstreamTransport.js';
import { wholeEvents } from './sseFraming.js';
import { chatStreamStartError, responsesStreamStartError } from './streamStartError.js';
import { viaHeader } from './proxyHops.js';

/** Chat completions on OpenAI take at most this many stop sequences, and this many tools. */
const OPENAI_MAX_STOP = 4;
const OPENAI_MAX_TOOLS = 128;

/**
 * OpenAI and every server that speaks its chat-completions API (vLLM, Ollama, llama.cpp, LiteLLM...).
 * Bodies are relayed unchanged; the request is only adjusted so `complete` never asks for a stream
 * and `stream` always does.
 */
export interface OpenAICompatibleOptions extends Omit<TransportOptions, 'upstreamName' | 'upstreamApi' | 'secrets'> {
  kind: 'openai' | 'openai_compatible';
  /** Sent as `Authorization: Bearer`; optional for local servers. */
  apiKey?: string | undefined;
  /** Defaults to "openai" or the base URL's origin. */
  upstreamName?: string;
}

export class OpenAICompatibleProvider implements ChatProvider {
  readonly kind: 'openai' | 'openai_compatible';
  private readonly transport: UpstreamTransport;
  private readonly jsonHeaders: Record<string, string>;
  private readonly sseHeaders: Record<string, string>;
  /** OpenAI itself speaks Responses; compatible servers are only trusted with chat completions. */
  readonly native: NativeApi | undefined;

  constructor(opts: OpenAICompatibleOptions) {
    const { kind, apiKey, upstreamName, ...transport } = opts;
    this.kind = kind;
    // The key goes into headers only, never into the transport's options (which may be logged).
    this.transport = new UpstreamTransport({
      ...transport,
      upstreamName: upstreamName ?? (kind === 'openai' ? 'openai' : `upstream ${new URL(opts.baseUrl).origin}`),
      upstreamApi: 'openai',
      // A job's inference_url may carry its credential in the query instead (`?api_key=`).
      secrets: [...(apiKey !== undefined && apiKey !== '' ? [apiKey] : []), ...urlSecrets(opts.baseUrl)],
    });
    // Built once: header objects are on the hot path of every proxied call.
    const base: Record<string, string> = { 'content-type': 'application/json', 'user-agent': 'miprox' };
    if (apiKey !== undefined && apiKey !== '') base.authorization = `Bearer ${apiKey}`;
    this.jsonHeaders = { ...base, accept: 'application/json' };
    this.sseHeaders = { ...base, accept: 'text/event-stream' };
    this.native = kind === 'openai' ? this.nativeApi('/responses', 'responses') : undefined;
  }

  private nativeApi(path: string, surface: 'responses'): NativeApi {
    return {
      surface,
      complete: async (body, opts = {}) => {
        const res = await this.transport.post({ path, headers: this.jsonHeaders, body: JSON.stringify(body), signal: opts.signal, timeoutMs: opts.timeoutMs });
        return { raw: await this.transport.readText(res), attempts: res.attempts };
      },
      stream: async (body, opts = {}) => {
        const res = await this.transport.post({ path, headers: this.sseHeaders, body: JSON.stringify(body), signal: opts.signal, timeoutMs: opts.timeoutMs, streamStart: responsesStreamStartError });
        await this.transport.expectEventStream(res);
        return { body: releasing(wholeEvents(this.transport.relay(res), false), () => this.transport.release(res)), attempts: res.attempts };
      },
    };
  }

  /**
   * OpenAI's own limit, which compatible servers do not share: at most 4 stop sequences ("Invalid
   * 'stop': array too long"). A Messages call translated for OpenAI may carry more (Anthropic takes
   * them), and OpenAI's 400 came after the rollout was recorded, naming a field the client never sent.
   */
  requestProblems(req: ChatCompletionRequest): FieldProblem[] {
    if (this.kind !== 'openai') return [];
    const problems: FieldProblem[] = [];
    if (Array.isArray(req.stop) && req.stop.length > OPENAI_MAX_STOP) {
      problems.push({ path: 'stop', message: `openai takes at most ${OPENAI_MAX_STOP} stop sequences, got ${req.stop.length} (the job's policy provider is openai)` });
    }
    // Likewise at most 128 tools ("Invalid 'tools': array too long"); a Messages call may carry more.
    if (req.tools !== undefined && req.tools.length > OPENAI_MAX_TOOLS) {
      problems.push({ path: 'tools', message: `openai takes at most ${OPENAI_MAX_TOOLS} tools, got ${req.tools.length} (the job's policy provider is openai)` });
    }
    // And only short plain names ("Invalid 'tools[0].function.name'"), where Anthropic takes 128 characters;
    // the calls of the conversation's assistant turns too ("Invalid 'messages[9].tool_calls[0].function.name'").
    const nameCheck = (name: unknown, path: string): void => {
      const problem = typeof name === 'string' ? toolNameProblem(name, 'openai') : null;
      if (problem !== null) problems.push({ path, message: `${problem} (the job's policy provider is openai)` });
    };
    (req.tools ?? []).forEach((tool, i) => nameCheck((tool.function as { name?: unknown } | undefined)?.name, `tools.${i}.function.name`));
    req.messages.forEach((m, i) => {
      if (m.role !== 'assistant') return;
      (m.tool_calls ?? []).forEach((call, j) => nameCheck((call.function as { name?: unknown } | undefined)?.name, `messages.${i}.tool_calls.${j}.function.name`));
    });
    return problems;
  }

  /**
   * A job's own server (`openai_compatible`) is told the miprox hops the call passed, this one
   * included: it may be another miprox proxy URL (proxyHops.ts). OpenAI's address is the operator's.
   */
  private withVia(headers: Record<string, string>, opts: CallOptions): Record<string, string> {
    return this.kind === 'openai_compatible' ? { ...headers, via: viaHeader(opts.proxyHops ?? 0) } : headers;
  }

  async complete(req: ChatCompletionRequest, opts: CallOptions = {}): Promise<CompletionResult> {
    const res = await this.transport.post({
      path: '/chat/completions',
      headers: this.withVia(this.jsonHeaders, opts),
      body: JSON.stringify(withoutStreaming(req)),
      signal: opts.signal,
      timeoutMs: opts.timeoutMs,
    });
    const raw = await this.transport.readText(res);
    return { raw, json: parseCompletion(raw), attempts: res.attempts };
  }

  async stream(req: ChatCompletionRequest, opts: CallOptions = {}): Promise<StreamResult> {
    const res = await this.transport.post({
      path: '/chat/completions',
      headers: this.withVia(this.sseHeaders, opts),
      body: JSON.stringify(req.stream === true ? req : { ...req, stream: true }),
      signal: opts.signal,
      timeoutMs: opts.timeoutMs,
      streamStart: chatStreamStartError,
    });
    await this.transport.expectEventStream(res);
    // Cut on event boundaries so a failure's error event is never glued to half an event.
    return { body: releasing(wholeEvents(this.transport.relay(res)), () => this.transport.release(res)), attempts: res.attempts };
  }

  async close(): Promise<void> {
    await this.transport.close();
  }
}

/** OpenAI refuses `stream_options` without `stream: true`, so both go. */
function withoutStreaming(req: ChatCompletionRequest): ChatCompletionRequest {
  if (req.stream !== true && req.stream_options === undefined) return req;
  const { stream: _stream, stream_options: _options, ...rest } = req;
  return rest;
}

/**
 * A 2xx body that is not a chat completion is a bad gateway: some compatible servers answer errors
 * with 200, so their message is surfaced when there is one.
 */
export function parseCompletion(raw: string): ChatCompletion {
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    throw new UpstreamError(`upstream returned a body that is not JSON: ${raw.slice(0, 200)}`, { status: 502 });
  }
  const parsed = ChatCompletionSchema.safeParse(value);
  if (parsed.success) return parsed.data;
  const upstreamMessage = parseErrorBody(raw).message;
  const issue = parsed.error.issues[0];
  const why = upstreamMessage ?? `${issue?.path.join('.') ?? ''}: ${issue?.message ?? 'invalid'}`;
  throw new UpstreamError(`upstream returned something that is not a chat completion (${why})`, { status: 502 });
}
