import { setTimeout as sleep } from 'node:timers/promises';
import { UpstreamError } from '../../shared/errors.js';
import { systemClock, type Clock } from '../../shared/clock.js';
import type { ChatCompletionRequest } from '../../schemas/openai.js';
import type { CallOptions, ChatProvider, CompletionResult, StreamResult } from '../types.js';
import { toAbortSignal } from '../cancelSignal.js';
import { hashString, hex32 } from './hash.js';
import { structuredAnswer } from './structuredAnswer.js';
import {
  buildChunks,
  buildCompletion,
  estimateTokens,
  promptTokens,
  SSE_DONE,
  sseEvent,
  type SimAnswer,
} from './openaiShapes.js';

/** What a simulator decided; this module wraps it in OpenAI's JSON or SSE. */
export interface SimDecision {
  content: string;
  /** Distinguishes completion ids; include whatever made this answer unique (inputs and call number). */
  idKey: string;
  /** Cut the answer at the request's max tokens like a real model (the policy does; the proposer does not). */
  honourMaxTokens: boolean;
}

export interface SimTimingOptions {
  /** `created` timestamps come from this clock (a fake one in tests). */
  clock?: Clock;
  /** Simulated time to first byte, so a demo looks like a network call. Default 0. */
  latencyMs?: number;
  /** Simulated pause between streamed chunks. Default 0. */
  chunkDelayMs?: number;
}

function abortedError(): UpstreamError {
  return new UpstreamError('simulated request aborted by the caller', { status: 502, code: 'upstream_aborted' });
}

async function wait(ms: number, opts: CallOptions | undefined): Promise<void> {
  if (opts?.signal?.aborted) throw abortedError();
  const timeout = opts?.timeoutMs;
  if (ms <= 0) return;
  const timesOut = timeout !== undefined && timeout < ms;
  try {
    await sleep(timesOut ? timeout : ms, undefined, opts?.signal ? { signal: toAbortSignal(opts.signal) } : {});
  } catch {
    throw abortedError();
  }
  if (timesOut) throw new UpstreamError(`simulated upstream timed out after ${timeout} ms`, { status: 504 });
}

function maxTokensOf(req: ChatCompletionRequest): number | undefined {
  return req.max_completion_tokens ?? req.max_tokens ?? undefined;
}

function toAnswer(req: ChatCompletionRequest, decision: SimDecision, defaultModel: string, clock: Clock): SimAnswer {
  let content = decision.content;
  let finishReason: SimAnswer['finishReason'] = 'stop';
  const limit = maxTokensOf(req);
  if (decision.honourMaxTokens && limit !== undefined && estimateTokens(content) > limit) {
    content = content.slice(0, limit * 4);
    finishReason = 'length';
  }
  // Shaped after the length cut: a tool call or a JSON answer is never cut into invalid JSON.
  const shaped = structuredAnswer(req, content, decision.idKey);
  content = shaped.content;
  if (shaped.toolCalls !== undefined) finishReason = 'tool_calls';
  const prompt = promptTokens(req);
  const completion = estimateTokens(content) + (shaped.toolCalls ?? []).reduce((n, c) => n + estimateTokens(c.name + c.arguments), 0);
  const idHash = hashString(decision.idKey);
  return {
    id: `simcmpl-${hex32(idHash)}${hex32(hashString(`${decision.idKey}#${idHash}`))}`,
    model: `${req.model ?? defaultModel} (simulator)`,
    created: Math.floor(clock.now() / 1000),
    content,
    finishReason,
    toolCalls: shaped.toolCalls,
    usage: { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion },
  };
}

/**
 * A ChatProvider around a pure decision function. The decision is made when the call arrives (so
 * per-call counters advance in arrival order); latency and streaming pace are cosmetic.
 */
export function createSimChatProvider(
  decide: (req: ChatCompletionRequest) => SimDecision,
  defaultModel: string,
  timing: SimTimingOptions = {},
): ChatProvider {
  const clock = timing.clock ?? systemClock;
  const latencyMs = timing.latencyMs ?? 0;
  const chunkDelayMs = timing.chunkDelayMs ?? 0;
  const encoder = new TextEncoder();

  return {
    kind: 'sim',
    async complete(req, opts): Promise<CompletionResult> {
      if (opts?.signal?.aborted) throw abortedError();
      const answer = toAnswer(req, decide(req), defaultModel, clock);
      await wait(latencyMs, opts);
      const json = buildCompletion(answer);
      return { raw: JSON.stringify(json), json, attempts: 1 };
    },
    async stream(req, opts): Promise<StreamResult> {
      if (opts?.signal?.aborted) throw abortedError();
      const answer = toAnswer(req, decide(req), defaultModel, clock);
      await wait(latencyMs, opts);
      const chunks = buildChunks(answer, req.stream_options?.include_usage === true);
      const signal = opts?.signal;
      async function* body(): AsyncGenerator<Uint8Array> {
        for (const [i, chunk] of chunks.entries()) {
          if (signal?.aborted) throw abortedError();
          if (i > 0) await wait(chunkDelayMs, signal ? { signal } : undefined);
          yield encoder.encode(sseEvent(JSON.stringify(chunk)));
        }
        yield encoder.encode(SSE_DONE);
      }
      return { body: body(), attempts: 1 };
    },
  };
}
