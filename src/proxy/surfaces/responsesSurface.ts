import { openAiErrorBody } from '../../api/errorMapping.js';
import type { ChatCompletionRequest } from '../../schemas/openai.js';
import { UpstreamError } from '../../shared/errors.js';
import { translateChatStream } from './chatChunks.js';
import { chatToResponse, echoOf } from './responsesRender.js';
import { nativeResponsesBody, nativeResponsesJson, NativeResponsesRelay } from './responsesNative.js';
import { parseResponsesRequest, responsesToChat } from './responsesRequest.js';
import { ResponsesStreamWriter } from './responsesStream.js';
import type { Surface, SurfaceStream } from './surface.js';

/** OpenAI Responses: `POST {proxy}[/{rollout_id}][/v1]/responses`. Errors in OpenAI's shape. */
export const responsesSurface: Surface = {
  name: 'responses',
  parse(body) {
    const original = parseResponsesRequest(body);
    const chat: ChatCompletionRequest = responsesToChat(original);
    const stream = original.stream === true;
    // A Responses answer always reports usage, so the internal stream asks for it.
    if (stream) chat.stream_options = { include_usage: true };
    const echo = echoOf(original);
    /** Events sent so far: the sequence number an error event takes. */
    let nextSeq: () => number = () => 0;
    return {
      chat,
      stream,
      renderJson: (completion, _raw, toolCalls) => JSON.stringify(chatToResponse(completion, echo, toolCalls)),
      renderStream: (sse) => {
        const writer = new ResponsesStreamWriter(echo, { model: original.model ?? '', createdAt: Math.floor(Date.now() / 1000) });
        nextSeq = () => writer.nextSequence;
        return translateChatStream(sse, writer);
      },
      native: {
        surface: 'responses',
        body: (injected, changed) => nativeResponsesBody(original, chat, injected, changed),
        json: (raw) => nativeResponsesJson(raw, echo.instructions),
        stream: (upstream): SurfaceStream => {
          const relay = new NativeResponsesRelay(echo.instructions);
          nextSeq = () => relay.events;
          async function* body(): AsyncGenerator<string> {
            for await (const chunk of upstream) yield relay.push(chunk);
            const tail = relay.end();
            if (tail !== '') yield tail;
            if (!relay.complete) throw new UpstreamError('upstream stream ended before response.completed', { status: 502, code: 'upstream_stream_error' });
          }
          return { body: body(), summary: () => relay.summary() };
        },
      },
      errorEvent: (problem, upstreamType) => {
        const e = openAiErrorBody(problem, upstreamType).error;
        const data = { type: 'error', sequence_number: nextSeq(), code: e.code, message: e.message, param: e.param };
        return `event: error\ndata: ${JSON.stringify(data)}\n\n`;
      },
    };
  },
};
