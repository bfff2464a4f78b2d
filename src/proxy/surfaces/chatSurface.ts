import { openAiErrorBody } from '../../api/errorMapping.js';
import type { ChatCompletionRequest } from '../../schemas/openai.js';
import { parseChatRequest } from '../requestBody.js';
import type { Surface, SurfaceCall } from './surface.js';

// The call's renderers are the same for every chat call: made once here, not as closures per call
// (under tsx each named closure also costs a defineProperty for its name, per call).
const renderJson: SurfaceCall['renderJson'] = (_completion, raw) => raw;
const renderStream: SurfaceCall['renderStream'] = (sse) => sse;
const errorEvent: SurfaceCall['errorEvent'] = (problem, upstream) => `data: ${JSON.stringify(openAiErrorBody(problem, upstream?.upstreamType))}\n\n`;

/**
 * Chat completions: the internal call is the client's body itself, and answers are relayed as the
 * provider wrote them (for openai and compatible servers, the upstream's own bytes).
 */
export const chatSurface: Surface = {
  name: 'chat',
  parse(body) {
    // Validated, then used as the client sent it: the parsed copy reorders keys, and what is not
    // ours to change (the messages of a call that keeps its own prompt) must go upstream unchanged.
    parseChatRequest(body);
    const chat = { ...(body as ChatCompletionRequest) };
    return {
      chat,
      untranslatable: [], // the internal call is the client's own
      stream: chat.stream === true,
      renderJson,
      renderStream,
      native: undefined,
      errorEvent,
    };
  },
};
