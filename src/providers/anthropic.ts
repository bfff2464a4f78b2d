import type { ChatCompletionRequest } from '../schemas/openai.js';
import { systemClock, type Clock } from '../shared/clock.js';
import type { FieldProblem } from '../shared/errors.js';
import type { CallOptions, ChatProvider, CompletionResult, NativeApi, StreamResult } from './types.js';
import { ANTHROPIC_VERSION } from './anthropicWire.js';
import { anthropicRequestProblems, toAnthropicRequest } from './anthropicRequest.js';
import { parseAnthropicMessage, toChatCompletion } from './anthropicResponse.js';
import { AnthropicStreamTranslator, translateAnthropicStream } from './anthropicStream.js';
import { UpstreamTransport, releasing, type TransportOptions } from './upstreamTransport.js';
import { wholeEvents } from './sseFraming.js';
import { anthropicStreamStartError } from './streamStartError.js';

/**
 * Claude behind the OpenAI chat-completions interface: requests are translated to the Messages API,
 * answers (JSON and SSE) back to OpenAI's shapes. Retries, timeouts and errors are the shared
 * transport's, so they behave exactly as for OpenAI upstreams.
 */
export interface AnthropicOptions extends Omit<TransportOptions, 'upstreamName' | 'upstreamApi' | 'secrets'> {
  /** e.g. `https://api.anthropic.com` (the `/v1/messages` path is added). */
  baseUrl: string;
  apiKey: string;
  clock?: Clock;
}

export class AnthropicProvider implements ChatProvider {
  readonly kind = 'anthropic' as const;
  private readonly transport: UpstreamTransport;
  private readonly headers: Record<string, string>;
  private readonly clock: Clock;
  /** The Messages surface goes to Anthropic as the client wrote it (after injection). */
  readonly native: NativeApi = {
    surface: 'messages',
    complete: async (body, opts = {}) => {
      const res = await this.transport.post({ path: '/v1/messages', headers: { ...opts.forwardHeaders, ...this.headers }, body: JSON.stringify(body), signal: opts.signal, timeoutMs: opts.timeoutMs });
      return { raw: await this.transport.readText(res), attempts: res.attempts };
    },
    stream: async (body, opts = {}) => {
      const res = await this.transport.post({
        path: '/v1/messages', headers: { ...opts.forwardHeaders, ...this.headers, accept: 'text/event-stream' }, body: JSON.stringify(body), signal: opts.signal, timeoutMs: opts.timeoutMs,
        streamStart: anthropicStreamStartError,
      });
      await this.transport.expectEventStream(res);
      return { body: releasing(wholeEvents(this.transport.relay(res), false), () => this.transport.release(res)), attempts: res.attempts };
    },
  };

  constructor(opts: AnthropicOptions) {
    const { apiKey, ...transport } = opts;
    this.clock = opts.clock ?? systemClock;
    // The key goes into headers only, never into the transport's options (which may be logged).
    this.transport = new UpstreamTransport({ ...transport, upstreamName: 'anthropic', upstreamApi: 'anthropic', secrets: [apiKey] });
    this.headers = {
      'content-type': 'application/json',
      'user-agent': 'miprox',
      'x-api-key': apiKey,
      'anthropic-version': ANTHROPIC_VERSION,
    };
  }

  requestProblems(req: ChatCompletionRequest): FieldProblem[] {
    return anthropicRequestProblems(req);
  }

  async complete(req: ChatCompletionRequest, opts: CallOptions = {}): Promise<CompletionResult> {
    const body = toAnthropicRequest(req, false);
    const res = await this.transport.post({
      path: '/v1/messages',
      headers: this.headers,
      body: JSON.stringify(body),
      signal: opts.signal,
      timeoutMs: opts.timeoutMs,
    });
    const message = parseAnthropicMessage(await this.transport.readText(res));
    const json = toChatCompletion(message, this.createdSec());
    return { raw: JSON.stringify(json), json, attempts: res.attempts };
  }

  async stream(req: ChatCompletionRequest, opts: CallOptions = {}): Promise<StreamResult> {
    const body = toAnthropicRequest(req, true);
    const res = await this.transport.post({
      path: '/v1/messages',
      headers: { ...this.headers, accept: 'text/event-stream' },
      body: JSON.stringify(body),
      signal: opts.signal,
      timeoutMs: opts.timeoutMs,
      streamStart: anthropicStreamStartError,
    });
    await this.transport.expectEventStream(res);
    const streamOpts = { includeUsage: req.stream_options?.include_usage === true, createdSec: this.createdSec(), model: body.model };
    const translator = new AnthropicStreamTranslator(streamOpts);
    const translated = translateAnthropicStream(this.transport.relay(res), streamOpts, translator);
    // Anthropic reports usage in every stream: the record counts it even when the client asked for no usage chunk.
    return { body: releasing(translated, () => this.transport.release(res)), attempts: res.attempts, usage: () => translator.reportedUsage() };
  }

  async close(): Promise<void> {
    await this.transport.close();
  }

  private createdSec(): number {
    return Math.floor(this.clock.now() / 1000);
  }
}
