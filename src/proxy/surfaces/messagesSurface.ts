import { anthropicErrorBody } from '../../api/errorMapping.js';
import { type FieldProblem, UpstreamError, ValidationError } from '../../shared/errors.js';
import { clientMessagesText } from '../clientParam.js';
import { translateChatStream } from './chatChunks.js';
import { nativeMessagesBody, nativeMessagesSummary, NativeMessagesTap, thinkingProblems, toolNameProblems } from './messagesNative.js';
import { chatToMessage } from './messagesRender.js';
import { firstSystemBlock, type MessagesOrigin, messagesToChat, parseMessagesRequest } from './messagesRequest.js';
import { MessagesStreamWriter } from './messagesStream.js';
import type { Surface, SurfaceStream } from './surface.js';

/** Anthropic Messages: `POST {proxy}[/{rollout_id}][/v1]/messages`. Errors in Anthropic's shape. */
export const messagesSurface: Surface = {
  name: 'messages',
  parse(body, _systemId, headers) {
    const original = parseMessagesRequest(body);
    const forwardHeaders = betaHeader(headers['anthropic-beta']);
    const untranslatable: FieldProblem[] = [];
    const origins: MessagesOrigin[] = [];
    const chat = messagesToChat(original, untranslatable, origins);
    const stream = original.stream === true;
    // Anthropic's stream always ends with usage, so the internal stream asks for it.
    if (stream) chat.stream_options = { include_usage: true };
    /** Demo turns the native body put at the head of `messages` (clientParam.ts `clientMessagesText`). */
    let inserted = 0;
    /** How the stream sent so far ends when it fails: by default with the error event alone. */
    let fail = (errorEvent: string): string => errorEvent;
    const firstBlock = firstSystemBlock(original);
    return {
      chat,
      untranslatable,
      fieldOf: (path) => messagesFieldOf(origins, path),
      stream,
      ...(firstBlock !== null ? { firstSystemBlock: firstBlock } : {}),
      renderJson: (completion, _raw, toolCalls) => JSON.stringify(chatToMessage(completion, toolCalls, original.stop_sequences)),
      renderStream: (sse) => {
        const writer = new MessagesStreamWriter({ model: original.model ?? '', stopSequences: original.stop_sequences ?? [] });
        // Translated: the writer stops the blocks it holds before the error event.
        fail = (errorEvent) => writer.fail(errorEvent);
        return translateChatStream(sse, writer);
      },
      native: {
        surface: 'messages',
        forwardHeaders,
        body: (injected, changed, firstBlock) => {
          const upstream = nativeMessagesBody(original, chat, injected, changed, firstBlock);
          inserted = (upstream.messages as readonly unknown[]).length - original.messages.length;
          return upstream;
        },
        clientMessage: (message) => clientMessagesText(message, inserted),
        problems: (limited) => [
          ...thinkingProblems(original, limited.max_tokens ?? limited.max_completion_tokens, forwardHeaders['anthropic-beta'] ?? ''),
          ...toolNameProblems(original),
        ],
        json: (raw) => ({ out: raw, summary: nativeMessagesSummary(raw) }),
        stream: (upstream): SurfaceStream => {
          const tap = new NativeMessagesTap();
          async function* relay(): AsyncGenerator<Uint8Array> {
            for await (const chunk of upstream) {
              yield chunk;
              tap.push(chunk); // after the chunk went on its way: off the path to the first byte
            }
            tap.end();
            if (!tap.complete && !tap.sawError) {
              throw new UpstreamError('upstream stream ended before message_stop', { status: 502, code: 'upstream_stream_error' });
            }
          }
          return { body: relay(), summary: () => tap.summary(), failed: () => tap.sawError };
        },
      },
      errorEvent: (problem, upstream) => fail(`event: error\ndata: ${JSON.stringify(anthropicErrorBody(problem, upstream))}\n\n`),
    };
  },
};

/** Messages names for the fields of the internal chat call a provider may refuse. */
const MESSAGES_FIELDS: Readonly<Record<string, string>> = { stop: 'stop_sequences', user: 'metadata.user_id' };

/** A tool call's fields in chat, as a `tool_use` block names them. */
const TOOL_USE_FIELDS: Readonly<Record<string, string>> = { 'function.name': 'name', 'function.arguments': 'input', id: 'id' };

/**
 * The Messages request's own name for a field of the internal call. Messages tools are flat: chat's
 * `tools.N.function.name` is `tools.N.name`, its `parameters` `input_schema`. A tool call of the
 * conversation (`messages.2.tool_calls.0.function.name`) is its `tool_use` block
 * (`messages.1.content.3.name`): the internal call has the system text first and splits a user turn
 * holding tool results, so its message numbers are not the client's (`origins`, from messagesToChat).
 */
export function messagesFieldOf(origins: readonly MessagesOrigin[], path: string): string {
  const tool = /^tools\.(\d+)\.function\.(name|parameters)(.*)$/.exec(path);
  if (tool) return `tools.${tool[1]}.${tool[2] === 'name' ? 'name' : 'input_schema'}${tool[3]}`;
  const m = /^messages\.(\d+)(?:\.(.*))?$/.exec(path);
  const origin = m ? origins[Number(m[1])] : undefined;
  if (!m || origin === undefined) return MESSAGES_FIELDS[path] ?? path;
  const call = /^tool_calls\.(\d+)(?:\.(.*))?$/.exec(m[2] ?? '');
  const block = call ? origin.calls[Number(call[1])] : undefined;
  if (call && block !== undefined) {
    const field = call[2] === undefined ? undefined : (TOOL_USE_FIELDS[call[2]] ?? call[2]);
    return field === undefined ? block : `${block}.${field}`;
  }
  // Elsewhere in a message only the message itself is known (its blocks were joined or split).
  return origin.path;
}

/**
 * The client's `anthropic-beta` (the Anthropic SDK's `betas`), forwarded on native calls: beta
 * features named in the body need it upstream too. Checked, since it is copied into a request header.
 */
function betaHeader(raw: string | string[] | undefined): Record<string, string> {
  if (raw === undefined) return {};
  const value = Array.isArray(raw) ? raw.join(',') : raw;
  if (!/^[A-Za-z0-9._\-]+(\s*,\s*[A-Za-z0-9._\-]+)*$/.test(value) || value.length > 1024) {
    throw new ValidationError('invalid anthropic-beta header', [{ path: 'anthropic-beta', message: 'must be a comma-separated list of beta names' }]);
  }
  return { 'anthropic-beta': value };
}
