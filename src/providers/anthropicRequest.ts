import { createHash } from 'node:crypto';
import type { ChatCompletionRequest, ChatMessage } from '../schemas/openai.js';
import type { FieldProblem } from '../shared/errors.js';
import type { AnthropicImageBlock, AnthropicMessageParam, AnthropicRequest, AnthropicRequestBlock } from './anthropicWire.js';
import { invalid, isRecord, TranslationError } from './anthropicTranslationError.js';
import { translateTool, translateToolChoice } from './anthropicTools.js';
import { toolNameProblem } from './toolNames.js';

/**
 * OpenAI chat-completions request -> Anthropic Messages request. What cannot be expressed is refused
 * with a 400 naming the field (never dropped silently), except knobs Anthropic has no notion of
 * (seed, frequency_penalty...), which are ignored. A `json_schema` response_format goes as Messages'
 * structured outputs (`output_config.format`); `json_object` has no Messages counterpart and is
 * dropped (see outputFormat). Logprobs are refused, as `n`
 * above 1 is: they ask for something in the answer that Anthropic never returns, so dropping them
 * would silently hand the client `logprobs: null` where it reads its token probabilities.
 */

/** Anthropic requires max_tokens; OpenAI does not. */
export const DEFAULT_ANTHROPIC_MAX_TOKENS = 1024;

export function toAnthropicRequest(req: ChatCompletionRequest, stream: boolean): AnthropicRequest {
  if (typeof req.model !== 'string' || req.model === '') throw invalid('model', 'is required');
  if (typeof req.n === 'number' && req.n > 1) throw invalid('n', 'values above 1 are not supported by anthropic');
  const { logprobs, top_logprobs: topLogprobs } = req as { logprobs?: unknown; top_logprobs?: unknown };
  if (logprobs === true) throw invalid('logprobs', 'is not supported by anthropic (Messages returns no token probabilities): send false or leave it out');
  if (typeof topLogprobs === 'number' && topLogprobs > 0) throw invalid('top_logprobs', 'is not supported by anthropic (Messages returns no token probabilities): leave it out');
  // Audio output (`modalities: ["text", "audio"]`, `audio: {voice, format}`): Anthropic answers text only,
  // so dropped the client would find no `message.audio` where it reads the answer, as with logprobs.
  const { modalities, audio } = req as { modalities?: unknown; audio?: unknown };
  if (Array.isArray(modalities) && modalities.some((m) => m !== 'text')) {
    throw invalid('modalities', 'anthropic answers text only: send ["text"] or leave it out');
  }
  if (audio != null) throw invalid('audio', 'is not supported by anthropic (it answers text only): leave it out');
  // Web search (chat's search models): dropped, the model would answer without searching, as a
  // Responses built-in web_search tool would (refused there too).
  if ((req as { web_search_options?: unknown }).web_search_options != null) {
    throw invalid('web_search_options', 'web search needs an OpenAI search model; with anthropic leave it out');
  }
  // Legacy function calling: dropped, the model would never see the functions, and a client reading
  // `message.function_call` would get an answer that cannot hold one. `tools` carries the same.
  const { functions, function_call: functionCall } = req as { functions?: unknown; function_call?: unknown };
  if (functions != null) throw invalid('functions', 'legacy function calling is not supported by anthropic: send them as tools');
  if (functionCall != null) throw invalid('function_call', 'legacy function calling is not supported by anthropic: send tool_choice with tools');
  // Moderated completions: OpenAI screens the input and the answer (blocking them in `block` mode) and
  // reports it in the answer's `moderation`. Anthropic has no such step, so dropped the client would
  // get an unscreened answer where it asked for a screened one.
  if ((req as { moderation?: unknown }).moderation != null) throw invalid('moderation', 'moderated completions are run by OpenAI; anthropic has no such step: leave it out');
  const { system, messages } = translateMessages(req.messages);
  const out: AnthropicRequest = {
    model: req.model,
    max_tokens: req.max_completion_tokens ?? req.max_tokens ?? DEFAULT_ANTHROPIC_MAX_TOKENS,
    messages,
  };
  if (system !== undefined) out.system = system;
  // OpenAI's scale is 0..2, Anthropic's 0..1: clamping keeps "hot" policies valid instead of failing.
  if (typeof req.temperature === 'number') out.temperature = Math.min(1, req.temperature);
  // Not both: Claude's current models (Sonnet 4.5, Opus 4.1 and later) refuse the pair with a 400
  // ("temperature and top_p cannot both be specified for this model"), which an app written for an
  // OpenAI model sends freely. Temperature is the knob the job's policy sets, so it is the one kept.
  if (typeof req.top_p === 'number' && out.temperature === undefined) out.top_p = req.top_p;
  const stop = stopSequences(req.stop);
  if (stop !== undefined) out.stop_sequences = stop;
  const userId = endUserId(req);
  if (userId !== undefined) out.metadata = { user_id: anthropicUserId(userId) };
  if (stream) out.stream = true;
  const format = outputFormat(req.response_format);
  if (format !== undefined) out.output_config = { format };
  if (req.tools !== undefined && req.tools.length > 0) {
    out.tools = req.tools.map((t, i) => translateTool(t, i));
    const choice = translateToolChoice(req.tool_choice, req.parallel_tool_calls === false);
    if (choice !== undefined) out.tool_choice = choice;
  }
  return out;
}

/**
 * Chat's `response_format` as Messages' `output_config.format`. It used to be ignored: a json_schema
 * call reached Claude with no schema, which answered prose, and the app's `JSON.parse` (or the openai
 * SDK's `.parse()` helper) failed on it. Anthropic's structured outputs are always constrained, so
 * `strict: false` is no reason to refuse; `name` and `description` have no Messages field (the
 * schema's own `description` still reaches the model).
 */
function outputFormat(format: unknown): { type: 'json_schema'; schema: Record<string, unknown> } | undefined {
  if (format == null) return undefined;
  if (!isRecord(format)) throw invalid('response_format', 'must be an object');
  if (format.type === 'text') return undefined;
  // JSON mode has no Messages counterpart (structured outputs need a schema), and it needs none: OpenAI
  // takes json_object only from a call whose messages say "json", so the model is asked for JSON in
  // the text already. Refusing it would break apps that get JSON from Claude today; it is dropped.
  if (format.type === 'json_object') return undefined;
  if (format.type !== 'json_schema') throw invalid('response_format.type', 'must be "text", "json_object" or "json_schema" with anthropic');
  const spec = format.json_schema;
  const schema = isRecord(spec) ? spec.schema : undefined;
  if (!isRecord(schema) || Array.isArray(schema)) throw invalid('response_format.json_schema.schema', 'must be a JSON schema object (anthropic structured outputs need one)');
  return { type: 'json_schema', schema: schema as Record<string, unknown> };
}

/**
 * Who the end user is: `safety_identifier` (what OpenAI's SDK has the app send since `user` was
 * deprecated for it), else `user`. Both say what Anthropic's `metadata.user_id` says (an id for abuse
 * detection), so either goes there; left out, Anthropic could not tell one abusive user from the app.
 */
function endUserId(req: ChatCompletionRequest): string | undefined {
  const safety = req.safety_identifier;
  if (typeof safety === 'string' && safety !== '') return safety;
  return typeof req.user === 'string' && req.user !== '' ? req.user : undefined;
}

/**
 * Chat's `user` (or `safety_identifier`) as Anthropic's `metadata.user_id`, which must be an opaque id (a uuid or a hash, at most
 * 256 characters): Anthropic refuses one that looks like an email address or a phone number with a 400
 * ("user_id appears to contain an email address"), and OpenAI clients often send an email there. Such
 * a value goes as its SHA-256 (hex): the same user keeps the same id, and the answer is unchanged.
 */
export function anthropicUserId(user: string): string {
  // Length first: the email pattern is unanchored, so on a value with no `@` it costs the square of
  // the length. `user` comes from whoever holds the proxy URL (no key needed) and may be megabytes
  // long: a 200 KB one held the event loop, every tenant's calls and /healthz, for a minute.
  // Within 256 characters the patterns cost nothing that matters; a longer value is hashed anyway.
  if (user.length > MAX_USER_ID_CHARS) return sha256Hex(user);
  const email = /[^\s@]+@[^\s@]+\.[^\s@]+/.test(user);
  const phone = /^\+?[\d\s().-]+$/.test(user) && user.replace(/\D/g, '').length >= 7;
  return email || phone ? sha256Hex(user) : user;
}

/** Anthropic's limit on `metadata.user_id`. */
const MAX_USER_ID_CHARS = 256;

const sha256Hex = (text: string): string => createHash('sha256').update(text).digest('hex');

/**
 * Chat's `stop` as Anthropic's `stop_sequences`. Anthropic refuses a stop sequence of only whitespace
 * (`"\n"`, a common chat stop) with a 400, which came after the rollout was recorded; dropped, the
 * answer would run past where the client asked it to stop. So it is refused here, by field.
 */
function stopSequences(stop: unknown): string[] | undefined {
  if (typeof stop === 'string') {
    if (stop.trim() === '') throw invalid('stop', WHITESPACE_STOP);
    return [stop];
  }
  if (!Array.isArray(stop)) return undefined;
  const out: string[] = [];
  stop.forEach((s: unknown, j) => {
    if (typeof s !== 'string') return;
    if (s.trim() === '') throw invalid(`stop[${j}]`, WHITESPACE_STOP);
    out.push(s);
  });
  return out;
}

const WHITESPACE_STOP = 'a stop sequence of only whitespace is refused by anthropic (each must contain a non-whitespace character)';

function translateMessages(input: readonly ChatMessage[]): { system: string | undefined; messages: AnthropicMessageParam[] } {
  const systemParts: string[] = [];
  const messages: AnthropicMessageParam[] = [];
  // Anthropic wants alternating turns: consecutive same-role messages (e.g. several tool results) merge.
  const push = (role: 'user' | 'assistant', turn: AnthropicRequestBlock[]): void => {
    const blocks = withoutBlankText(turn);
    if (blocks.length === 0) return;
    const last = messages[messages.length - 1];
    if (last !== undefined && last.role === role) last.content.push(...blocks);
    else messages.push({ role, content: blocks });
  };
  input.forEach((m, i) => {
    switch (m.role) {
      case 'system':
      case 'developer': {
        const text = textOf(m.content, `messages[${i}].content`);
        if (text !== '') systemParts.push(text);
        break;
      }
      case 'user':
        push('user', userBlocks(m.content, i));
        break;
      case 'assistant':
        push('assistant', assistantBlocks(m, i));
        break;
      case 'tool':
        if (typeof m.tool_call_id !== 'string') throw invalid(`messages[${i}].tool_call_id`, 'is required');
        push('user', [toolResult(anthropicToolId(m.tool_call_id), textOf(m.content, `messages[${i}].content`))]);
        break;
      default:
        throw invalid(`messages[${i}].role`, `"${m.role}" is not supported by the anthropic provider`);
    }
  });
  refusePrefill(input, messages);
  const system = systemParts.length > 0 ? systemParts.join('\n\n') : undefined;
  // A prompt made only of system text (e.g. a proposer call) still needs one user turn.
  if (messages.length === 0 && system !== undefined) {
    return { system: undefined, messages: [{ role: 'user', content: [{ type: 'text', text: system }] }] };
  }
  return { system, messages };
}

/**
 * A conversation ending with an assistant turn: a chat-completions model answers it with a new turn,
 * but Anthropic continues that turn's text (a prefill), so the client would get the rest of a sentence
 * it wrote itself; and models without prefill refuse the call with a 400, after the rollout was
 * recorded. Refused, as a Messages prefill toward a chat upstream is (messagesRequest.ts). A final turn
 * of tool calls is no prefill (the tool results are missing, which both providers refuse themselves).
 */
function refusePrefill(input: readonly ChatMessage[], messages: readonly AnthropicMessageParam[]): void {
  const last = messages.at(-1);
  if (last?.role !== 'assistant' || last.content.some((b) => b.type === 'tool_use')) return;
  const i = input.findLastIndex((m) => m.role === 'assistant');
  throw invalid(`messages[${i}]`, 'a final assistant turn would be continued by anthropic (a prefill), not answered with a new turn as chat completions does: end with a user turn');
}

/**
 * A message's text blocks when none has more than whitespace (an assistant turn of "\n" before its
 * tool calls, a user turn of " "): Anthropic refuses such a message with a 400 ("text content blocks
 * must contain non-whitespace text"), which came after the rollout was recorded. Whitespace alone says
 * nothing to the model, so those blocks are left out, as an empty text is; beside real text they stay.
 */
function withoutBlankText(blocks: AnthropicRequestBlock[]): AnthropicRequestBlock[] {
  const blank = (b: AnthropicRequestBlock): boolean => b.type === 'text' && b.text.trim() === '';
  const texts = blocks.filter((b) => b.type === 'text');
  return texts.length > 0 && texts.every(blank) ? blocks.filter((b) => !blank(b)) : blocks;
}

const ANTHROPIC_TOOL_ID = /^[a-zA-Z0-9_-]+$/;

/**
 * A chat tool call id as a Messages `tool_use.id` / `tool_result.tool_use_id`. Anthropic takes only
 * ids matching ^[a-zA-Z0-9_-]+$ ("messages.5.content.0.tool_use.id: String should match pattern"),
 * where chat completions takes any string, and ids from other providers' answers have `.`, `:` or
 * `/` in them (`functions.get_weather:0`). The id only pairs a call with its result inside the
 * request (Anthropic never sends it back), so another id goes as its allowed characters plus a hash
 * of the whole id: the same on the call and on its result, and distinct ids stay distinct.
 */
export function anthropicToolId(id: string): string {
  if (ANTHROPIC_TOOL_ID.test(id)) return id;
  return `${id.replace(/[^a-zA-Z0-9_-]/g, '_').slice(0, 64)}_${createHash('sha256').update(id).digest('hex').slice(0, 16)}`;
}

/**
 * A tool message as a tool_result block. A tool without output (a write-only tool, a command that
 * printed nothing) sends `content: ""` in chat; Anthropic refuses an empty tool_result content with a
 * 400, which came after the rollout was recorded. Without content the block says the same: no output.
 */
function toolResult(toolUseId: string, text: string): AnthropicRequestBlock {
  return text === '' ? { type: 'tool_result', tool_use_id: toolUseId } : { type: 'tool_result', tool_use_id: toolUseId, content: text };
}

function userBlocks(content: ChatMessage['content'], i: number): AnthropicRequestBlock[] {
  if (content === undefined || content === null) return [];
  if (typeof content === 'string') return content === '' ? [] : [{ type: 'text', text: content }];
  const blocks: AnthropicRequestBlock[] = [];
  content.forEach((part, j) => {
    const where = `messages[${i}].content[${j}]`;
    if (part.type === 'text') {
      if (typeof part.text !== 'string') throw invalid(`${where}.text`, 'must be a string');
      if (part.text !== '') blocks.push({ type: 'text', text: part.text });
    } else if (part.type === 'image_url') {
      blocks.push(imageBlock(part.image_url, where));
    } else {
      throw invalid(`${where}.type`, `"${part.type}" is not supported by the anthropic provider`);
    }
  });
  return blocks;
}

function assistantBlocks(m: ChatMessage, i: number): AnthropicRequestBlock[] {
  if ((m as { function_call?: unknown }).function_call != null) {
    throw invalid(`messages[${i}].function_call`, 'legacy function calling is not supported by anthropic: send tool_calls');
  }
  const blocks: AnthropicRequestBlock[] = [];
  // A turn where the model refused holds only `refusal` (content null), as OpenAI answered it: Messages
  // has no refusal field, and dropped, the conversation lost the assistant's turn (two user turns
  // merged). Its text is what the assistant said, as a refusal content part already is (textOf).
  const text = textOf(m.content, `messages[${i}].content`) + (m.refusal ?? '');
  if (text !== '') blocks.push({ type: 'text', text });
  (m.tool_calls ?? []).forEach((call, j) => {
    const where = `messages[${i}].tool_calls[${j}]`;
    const fn = isRecord(call.function) ? call.function : undefined;
    if (typeof call.id !== 'string' || fn === undefined || typeof fn.name !== 'string') {
      throw invalid(where, 'must have an id and function.name');
    }
    // A call of the conversation names its tool under the same rule as a tool definition (Anthropic's
    // "messages.N.content.M.tool_use.name" 400 came after the rollout was recorded).
    const nameProblem = toolNameProblem(fn.name, 'anthropic');
    if (nameProblem !== null) throw invalid(`${where}.function.name`, nameProblem);
    blocks.push({ type: 'tool_use', id: anthropicToolId(call.id), name: fn.name, input: parseArguments(fn.arguments, where) });
  });
  return blocks;
}

function parseArguments(args: unknown, where: string): Record<string, unknown> {
  if (args === undefined || args === null || args === '') return {};
  if (isRecord(args)) return args;
  if (typeof args !== 'string') throw invalid(`${where}.function.arguments`, 'must be a JSON string');
  let parsed: unknown;
  try {
    parsed = JSON.parse(args);
  } catch {
    throw invalid(`${where}.function.arguments`, 'is not valid JSON');
  }
  if (!isRecord(parsed) || Array.isArray(parsed)) throw invalid(`${where}.function.arguments`, 'must be a JSON object');
  return parsed;
}

/** The image types the Messages API takes; any other is its 400. */
const ANTHROPIC_IMAGE_TYPES: readonly string[] = ['image/jpeg', 'image/png', 'image/gif', 'image/webp'];

/**
 * A chat image as an Anthropic image block. A data URL Anthropic cannot take (another media type, or
 * not base64: it would go as a `url` source, which must be http(s)) was its 400 after the rollout was
 * recorded; it is refused here, by field, as the rest of what the Messages API cannot express.
 */
function imageBlock(imageUrl: unknown, where: string): AnthropicImageBlock {
  const url = typeof imageUrl === 'string' ? imageUrl : isRecord(imageUrl) ? imageUrl.url : undefined;
  if (typeof url !== 'string') throw invalid(`${where}.image_url.url`, 'is required');
  if (/^data:/i.test(url)) {
    const data = /^data:([^;,]+)(?:;[^;,=]+=[^;,]*)*;base64,(.*)$/s.exec(url);
    if (!data) throw invalid(`${where}.image_url.url`, 'a data URL must be base64 (data:<type>;base64,...) for anthropic');
    const mediaType = (data[1] ?? '').toLowerCase();
    if (!ANTHROPIC_IMAGE_TYPES.includes(mediaType)) {
      throw invalid(`${where}.image_url.url`, `"${mediaType}" images are not supported by anthropic (only ${ANTHROPIC_IMAGE_TYPES.join(', ')})`);
    }
    return { type: 'image', source: { type: 'base64', media_type: mediaType, data: data[2] ?? '' } };
  }
  return { type: 'image', source: { type: 'url', url } };
}

/** System, tool and assistant content may be a string or text parts; anything else is refused. */
function textOf(content: ChatMessage['content'], where: string): string {
  if (content === undefined || content === null) return '';
  if (typeof content === 'string') return content;
  return content
    .map((part, j) => {
      if (part.type === 'text' && typeof part.text === 'string') return part.text;
      if (part.type === 'refusal' && typeof part.refusal === 'string') return part.refusal;
      throw invalid(`${where}[${j}].type`, `"${part.type}" is not supported here by the anthropic provider`);
    })
    .join('');
}

/**
 * What toAnthropicRequest would refuse in `req`, with the field as a dotted path
 * (`messages.1.content.0.type`), so the proxy refuses the call before it is dispatched or recorded.
 */
export function anthropicRequestProblems(req: ChatCompletionRequest): FieldProblem[] {
  try {
    toAnthropicRequest(req, false);
    return [];
  } catch (err) {
    if (!(err instanceof TranslationError)) throw err;
    return [{ path: err.field.replace(/\[(\d+)\]/g, '.$1'), message: `${err.reason} (the job's policy provider is anthropic)` }];
  }
}
