import { clientInputParam, type InputShift } from '../clientParam.js';
import { openAiErrorBody } from '../../api/errorMapping.js';
import type { ChatCompletionRequest } from '../../schemas/openai.js';
import { type FieldProblem, UpstreamError } from '../../shared/errors.js';
import { translateChatStream } from './chatChunks.js';
import { chatToResponse, echoOf } from './responsesRender.js';
import { unsendableReasoning } from './encryptedReasoning.js';
import { nativeResponsesBody, nativeResponsesInputShift, nativeResponsesJson, NativeResponsesRelay, responsesToolNameProblems } from './responsesNative.js';
import { type MessageOrigin, parseResponsesRequest, resolveReferences, responsesFieldOf, responsesToChat } from './responsesRequest.js';
import type { ResponseItemCache } from './responseItems.js';
import { ResponsesStreamWriter } from './responsesStream.js';
import type { Surface, SurfaceStream } from './surface.js';

/**
 * OpenAI Responses: `POST {proxy}[/{rollout_id}][/v1]/responses`. Errors in OpenAI's shape. The
 * items of every answer are remembered briefly so later `item_reference`s resolve (responseItems.ts).
 */
export function createResponsesSurface(items: ResponseItemCache): Surface {
  return {
  name: 'responses',
  parse(body, systemId) {
    const original = resolveReferences(parseResponsesRequest(body), (id) => items.lookup(systemId, id));
    const untranslatable: FieldProblem[] = [];
    const origins: MessageOrigin[] = [];
    const chat: ChatCompletionRequest = responsesToChat(original, untranslatable, origins);
    const remember = (response: unknown): void => {
      if (typeof response === 'object' && response !== null) items.remember(systemId, (response as { output?: unknown }).output);
    };
    const stream = original.stream === true;
    // A Responses answer always reports usage, so the internal stream asks for it.
    if (stream) chat.stream_options = { include_usage: true };
    const echo = echoOf(original);
    /** How the stream ends when it fails: by default with the error event alone, numbered 0 (nothing went before it). */
    let fail = (e: StreamError): string => errorEvent(e, 0);
    /** The `instructions` the native upstream body carried: what the upstream echoes back. */
    let sent = echo.instructions;
    /** Where the native body put the candidate's demo turns in `input`, for an upstream error's `param`. */
    let shift: InputShift | null = null;
    return {
      chat,
      untranslatable,
      fieldOf: (path) => responsesFieldOf(origins, path),
      stream,
      renderJson: (completion, _raw, toolCalls) => {
        const response = chatToResponse(completion, echo, toolCalls);
        remember(response);
        return JSON.stringify(response);
      },
      renderStream: (sse) => {
        const writer = new ResponsesStreamWriter(echo, { model: original.model ?? '', createdAt: Math.floor(Date.now() / 1000) });
        // Translated: the writer closes what it holds, then error and response.failed.
        fail = (e) => writer.fail(e);
        async function* body(): AsyncGenerator<string> {
          yield* translateChatStream(sse, writer);
          remember(writer.finalResponse);
        }
        return body();
      },
      native: {
        forwardHeaders: {},
        surface: 'responses',
        problems: () => responsesToolNameProblems(original),
        body: (injected, changed) => {
          const upstream = nativeResponsesBody(original, chat, injected, changed);
          sent = typeof upstream.instructions === 'string' ? upstream.instructions : null;
          shift = nativeResponsesInputShift(original, chat, injected, changed);
          return upstream;
        },
        clientParam: (param) => clientInputParam(param, shift, unsendableReasoning(original.input)),
        json: (raw) => {
          const answer = nativeResponsesJson(raw, echo.instructions);
          remember(answer.response);
          return { out: answer.out, summary: answer.summary };
        },
        stream: (upstream): SurfaceStream => {
          const relay = new NativeResponsesRelay(echo.instructions, sent);
          // Native: the upstream's own events went out as written; the error event follows them.
          fail = (e) => errorEvent(e, relay.events);
          async function* body(): AsyncGenerator<string> {
            for await (const chunk of upstream) yield relay.push(chunk);
            const tail = relay.end();
            if (tail !== '') yield tail;
            remember(relay.finalResponse);
            // After the upstream's own error event the client knows; a second error event would contradict it.
            if (!relay.complete && !relay.failed) throw new UpstreamError('upstream stream ended before response.completed', { status: 502, code: 'upstream_stream_error' });
          }
          return { body: body(), summary: () => relay.summary(), failed: () => relay.failed };
        },
      },
      errorEvent: (problem, upstream) => {
        const e = openAiErrorBody(problem, upstream?.upstreamType).error;
        return fail({ code: e.code, message: e.message, param: e.param });
      },
    };
  },
  };
}

type StreamError = { code: string; message: string; param: string | null };

/** Responses' `error` event, numbered `seq`. */
function errorEvent(e: StreamError, seq: number): string {
  const data = { type: 'error', sequence_number: seq, code: e.code, message: e.message, param: e.param };
  return `event: error\ndata: ${JSON.stringify(data)}\n\n`;
}
