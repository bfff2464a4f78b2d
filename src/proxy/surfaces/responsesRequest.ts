import { zodProblems } from '../../schemas/jobRequest.js';
import type { ChatCompletionRequest, ChatMessage } from '../../schemas/openai.js';
import { type ResponsesInputItem, ResponsesInputSchema, type ResponsesRequest, ResponsesRequestSchema } from '../../schemas/responses.js';
import { BadRequestError, type FieldProblem, ValidationError } from '../../shared/errors.js';
import { invalid, requireObjectBody, untranslatable } from './translationProblems.js';

/**
 * OpenAI Responses request -> the internal call (chat completions), pure. `instructions` becomes the
 * first system message, so module matching and injection see it where they see a chat call's
 * system text. What has no chat equivalent is refused with the field named, never dropped, except
 * knobs that do not change the answer's shape (truncation, `include` but for logprobs, service_tier,
 * prompt caching, context_management), which are ignored; `reasoning.effort`, `text.verbosity` and
 * `safety_identifier` go as chat's fields of the same meaning.
 */
export function parseResponsesRequest(body: unknown): ResponsesRequest {
  requireObjectBody(body);
  const parsed = ResponsesRequestSchema.safeParse(body ?? {});
  if (!parsed.success) {
    const problems = zodProblems(parsed.error, '');
    const items = inputItemProblems(body);
    throw new ValidationError('invalid request', items ? [...items, ...problems.filter((p) => p.path !== 'input')] : problems);
  }
  // Validated, then used as the client sent it (as chat is: chatSurface.ts): the parsed copy puts the
  // schema's keys first, in its objects and items alike, and a native upstream gets this body as written.
  const req = { ...(body as ResponsesRequest) };
  // Stateless by design: miprox keeps no conversation state, so a client relying on it must hear so.
  if (req.previous_response_id != null) {
    throw stateful('previous_response_id', 'miprox is stateless: send the whole conversation in input instead of previous_response_id');
  }
  if (req.store === true) throw stateful('store', 'miprox is stateless: store must be false or omitted');
  if (req.conversation !== undefined && req.conversation !== null) throw stateful('conversation', 'miprox is stateless: send the whole conversation in input');
  if (req.background === true) throw stateful('background', 'background responses are not supported by miprox');
  return req;
}

/**
 * What is wrong inside an array `input`, by item and field (`input.0.content: ...`): the schema's
 * union of a string and an array reports only that `input` is neither. Null when the items are fine.
 */
function inputItemProblems(body: unknown): FieldProblem[] | null {
  const input = (body as { input?: unknown } | undefined)?.input;
  if (!Array.isArray(input)) return null;
  const items = ResponsesInputSchema.safeParse(input);
  return items.success ? null : zodProblems(items.error, 'input');
}

/** Resolves an `item_reference` to an item miprox answered earlier (responseItems.ts), or undefined. */
export type ItemResolver = (id: string) => Record<string, unknown> | undefined;

/**
 * The request with every `item_reference` replaced by the item it names: clients that assume
 * OpenAI's `store: true` refer to the items of the previous answer by id; those miprox answered
 * itself (kept briefly, per instance: responseItems.ts) are put back in place, others are a 400.
 */
export function resolveReferences(req: ResponsesRequest, resolve: ItemResolver): ResponsesRequest {
  if (!Array.isArray(req.input) || !req.input.some((item) => item.type === 'item_reference')) return req;
  return { ...req, input: req.input.map((item, i) => resolveReference(item, i, resolve)) };
}

/**
 * Whether the call carries its own `instructions`. An empty string counts as none (what a client that
 * always sets the field sends), so a system/developer input item is then the system text, as without it.
 */
export function hasInstructions(req: ResponsesRequest): req is ResponsesRequest & { instructions: string } {
  return typeof req.instructions === 'string' && req.instructions !== '';
}

/**
 * Where each message of the internal call came from in the Responses request: `instructions`, `input`
 * (a string input) or `input.N`, and for an assistant message the function_call item of each of its
 * tool calls. Filled by responsesToChat, read by responsesFieldOf.
 */
export interface MessageOrigin {
  path: string;
  kind: 'instructions' | 'message' | 'tool';
  calls: string[];
}

/**
 * `lossy`: the call goes to OpenAI natively (the upstream gets the client's own body), so the
 * internal call only serves matching, injection and the record: what has no chat equivalent
 * (built-in tools, file inputs, other item types) is listed there and left out instead of refused.
 * `origins` receives where each internal message came from (MessageOrigin), one per message.
 */
export function responsesToChat(req: ResponsesRequest, lossy: FieldProblem[] | null = null, origins: MessageOrigin[] = []): ChatCompletionRequest {
  const messages: ChatMessage[] = [];
  // Translated, the model would answer without the stored prompt's text: refused, not dropped.
  if (req.prompt != null) untranslatable(lossy, 'prompt', 'a prompt stored at OpenAI (prompt.id) needs OpenAI itself; with this upstream send its text in instructions');
  logprobProblems(req, lossy);
  // Moderated responses: OpenAI screens input and answer and reports it in the response's `moderation`;
  // a chat upstream's answer has no place for that report, and dropped the answer went unscreened.
  if ((req as { moderation?: unknown }).moderation != null) untranslatable(lossy, 'moderation', 'moderated responses need an upstream that speaks the Responses API (OpenAI); this one speaks chat completions');
  if (hasInstructions(req)) {
    messages.push({ role: 'system', content: req.instructions });
    origins.push({ path: 'instructions', kind: 'instructions', calls: [] });
  }
  if (typeof req.input === 'string') {
    messages.push({ role: 'user', content: req.input });
    origins.push({ path: 'input', kind: 'instructions', calls: [] });
  } else (req.input ?? []).forEach((item, i) => appendItem(messages, item, i, lossy, origins));
  // Natively, items miprox does not model (listed in `lossy`) still reach the upstream: an input of only
  // those is a call like any other, with nothing for the internal call to carry; so is a stored
  // prompt, whose text OpenAI fills in.
  const onlyNativeItems = lossy !== null && lossy.some((p) => p.path.startsWith('input.') || p.path === 'prompt');
  if (messages.length === 0 && !onlyNativeItems) throw new ValidationError('invalid request', [{ path: 'input', message: 'must contain at least one item' }]);
  const chat: ChatCompletionRequest = { messages };
  if (typeof req.model === 'string') chat.model = req.model;
  if (req.stream === true) chat.stream = true;
  if (typeof req.temperature === 'number') chat.temperature = req.temperature;
  if (typeof req.top_p === 'number') chat.top_p = req.top_p;
  if (typeof req.max_output_tokens === 'number') chat.max_completion_tokens = req.max_output_tokens;
  if (typeof req.parallel_tool_calls === 'boolean') chat.parallel_tool_calls = req.parallel_tool_calls;
  if (typeof req.user === 'string') chat.user = req.user;
  // The same fields in chat completions: dropped, an Anthropic policy lost its `metadata.user_id`
  // (chat's safety_identifier goes there), and a reasoning or GPT-5 model on a chat server answered
  // at its default effort and length.
  const { reasoning, text } = req as { reasoning?: { effort?: unknown } | null; text?: { verbosity?: unknown } | null };
  if (typeof req.safety_identifier === 'string') chat.safety_identifier = req.safety_identifier;
  if (typeof reasoning?.effort === 'string') chat.reasoning_effort = reasoning.effort;
  if (typeof text?.verbosity === 'string') chat.verbosity = text.verbosity;
  const tools = (req.tools ?? []).map((t, i) => toolToChat(t, i, lossy)).filter((t): t is Record<string, unknown> => t !== null);
  if (tools.length > 0) chat.tools = tools;
  if (req.tool_choice !== undefined && req.tool_choice !== null) {
    const choice = toolChoiceToChat(req.tool_choice, lossy);
    if (choice !== undefined) chat.tool_choice = choice;
  }
  const format = formatToChat(req.text?.format);
  if (format !== undefined) chat.response_format = format;
  if (req.mipro !== undefined) chat.mipro = req.mipro;
  return chat;
}

/**
 * Log probabilities (`include: ["message.output_text.logprobs"]`, `top_logprobs` > 0) are not carried
 * through chat completions: translated, the answer said `logprobs: []`, as if the model had none, so
 * they are refused, as chat `logprobs` to an Anthropic policy. Other `include` values change nothing
 * a client reads from a chat upstream's answer and stay ignored.
 */
function logprobProblems(req: ResponsesRequest, lossy: FieldProblem[] | null): void {
  const include = (req as { include?: unknown }).include;
  if (Array.isArray(include)) {
    const at = include.indexOf('message.output_text.logprobs');
    if (at >= 0) untranslatable(lossy, `include.${at}`, 'log probabilities need an upstream that speaks the Responses API (OpenAI); this one speaks chat completions');
  }
  const top = (req as { top_logprobs?: unknown }).top_logprobs;
  if (typeof top === 'number' && top > 0) untranslatable(lossy, 'top_logprobs', 'log probabilities need an upstream that speaks the Responses API (OpenAI); this one speaks chat completions');
}

/**
 * The Responses request's own name for a field of the internal call, so a problem found on that call
 * (what an Anthropic policy cannot take: anthropicRequestProblems) names what the client sent:
 * `messages.2.tool_calls.0.function.arguments` is `input.1.arguments`, `messages.0.content` may be
 * `instructions`. A path with no Responses counterpart is returned as is.
 */
export function responsesFieldOf(origins: readonly MessageOrigin[], path: string): string {
  // Responses tools are flat: chat's `tools.N.function.parameters` is `tools.N.parameters`.
  const tool = /^tools\.(\d+)\.function\.(.+)$/.exec(path);
  if (tool) return `tools.${tool[1]}.${tool[2]}`;
  // Chat's `response_format` is the Responses call's `text.format` (formatToChat), flat too.
  const format = /^response_format(?:\.(?:json_schema\.)?(.+))?$/.exec(path);
  if (format) return format[1] === undefined ? 'text.format' : `text.format.${format[1]}`;
  const m = /^messages\.(\d+)(?:\.(.*))?$/.exec(path);
  const origin = m ? origins[Number(m[1])] : undefined;
  if (!m || origin === undefined) return path;
  const rest = m[2] ?? '';
  const call = /^tool_calls\.(\d+)(?:\.(.*))?$/.exec(rest);
  if (call) {
    const item = origin.calls[Number(call[1])];
    if (item === undefined) return path;
    const field = { 'function.arguments': 'arguments', 'function.name': 'name', function: 'name', id: 'call_id' }[call[2] ?? ''];
    return call[2] === undefined ? item : `${item}.${field ?? call[2]}`;
  }
  if (origin.kind === 'instructions') return origin.path;
  if (origin.kind === 'tool') {
    const field = rest === 'tool_call_id' ? 'call_id' : rest.replace(/^content/, 'output');
    return field === '' ? origin.path : `${origin.path}.${field}`;
  }
  // An input_image's URL is the part's `image_url`, a string (chat's is `image_url.url`).
  const field = rest.replace(/^(content\.\d+\.image_url)\.url$/, '$1');
  return field === '' ? origin.path : `${origin.path}.${field}`;
}

function resolveReference(item: ResponsesInputItem, i: number, resolve: ItemResolver): ResponsesInputItem {
  if (item.type !== 'item_reference') return item;
  const id = (item as { id?: unknown }).id;
  const found = typeof id === 'string' ? resolve(id) : undefined;
  if (found === undefined) {
    throw stateful(`input.${i}`, `miprox is stateless: item_reference ${typeof id === 'string' ? id : ''} is not an item this server answered recently; send the item itself (Vercel AI SDK: providerOptions.openai.store = false)`);
  }
  return found as ResponsesInputItem;
}

function appendItem(out: ChatMessage[], item: ResponsesInputItem, i: number, lossy: FieldProblem[] | null, origins: MessageOrigin[]): void {
  const type = item.type ?? 'message';
  const where = `input.${i}`;
  switch (type) {
    case 'message': {
      const role = item.role;
      if (role !== 'user' && role !== 'assistant' && role !== 'system' && role !== 'developer') {
        throw invalid(`${where}.role`, 'must be "user", "assistant", "system" or "developer"');
      }
      // As OpenAI requires: a message without content would reach a translated upstream as nothing at all.
      if (item.content === undefined) throw invalid(`${where}.content`, 'is required (a string or an array of content parts)');
      out.push({ role, content: contentToChat(item.content, `${where}.content`, lossy) });
      origins.push({ path: where, kind: 'message', calls: [] });
      return;
    }
    case 'function_call': {
      const { call_id: callId, name, arguments: args } = item as Record<string, unknown>;
      if (typeof callId !== 'string' || typeof name !== 'string') throw invalid(where, 'a function_call needs call_id and name');
      const call = { id: callId, type: 'function', function: { name, arguments: typeof args === 'string' ? args : '{}' } };
      // The items of one model turn (its text as a message item, then its calls, several when parallel)
      // are one assistant message in chat completions, as OpenAI's chat API writes such a turn: two
      // assistant messages in a row are refused by servers whose chat template needs alternating roles.
      const last = out[out.length - 1];
      if (last !== undefined && last.role === 'assistant') {
        last.tool_calls = [...(last.tool_calls ?? []), call];
        origins.at(-1)?.calls.push(where);
      } else {
        out.push({ role: 'assistant', content: null, tool_calls: [call] });
        origins.push({ path: where, kind: 'message', calls: [where] });
      }
      return;
    }
    case 'function_call_output': {
      const { call_id: callId, output } = item as Record<string, unknown>;
      if (typeof callId !== 'string') throw invalid(`${where}.call_id`, 'is required');
      const text = typeof output === 'string' ? output : Array.isArray(output) ? textOfParts(output, `${where}.output`, lossy) : JSON.stringify(output ?? '');
      out.push({ role: 'tool', tool_call_id: callId, content: text });
      origins.push({ path: where, kind: 'tool', calls: [] });
      return;
    }
    case 'item_reference':
      throw stateful(`${where}.type`, 'miprox is stateless: an item_reference must be resolved before translation');
    case 'reasoning':
      return; // a reasoning model's own notes: chat completions has no place for them
    default:
      untranslatable(lossy, `${where}.type`, `"${type}" is not supported when the upstream speaks chat completions`);
  }
}

function contentToChat(content: ResponsesInputItem['content'], where: string, lossy: FieldProblem[] | null): ChatMessage['content'] {
  if (content === undefined) return '';
  if (typeof content === 'string') return content;
  const parts = content.flatMap((part, j): Array<{ type: string; text?: string; image_url?: unknown }> => {
    const p = part as Record<string, unknown>;
    switch (part.type) {
      case 'input_text':
      case 'output_text':
      case 'text':
        if (typeof p.text !== 'string') throw invalid(`${where}.${j}.text`, 'must be a string');
        return [{ type: 'text', text: p.text }];
      case 'refusal':
        return [{ type: 'text', text: typeof p.refusal === 'string' ? p.refusal : '' }];
      case 'input_image':
        if (typeof p.image_url !== 'string') {
          untranslatable(lossy, `${where}.${j}.image_url`, 'is required (file_id images need OpenAI itself)');
          return [];
        }
        return [{ type: 'image_url', image_url: { url: p.image_url, ...(typeof p.detail === 'string' ? { detail: p.detail } : {}) } }];
      default:
        untranslatable(lossy, `${where}.${j}.type`, `"${part.type}" is not supported when the upstream speaks chat completions`);
        return [];
    }
  });
  // A text-only content keeps the plain-string form: it is what templates match and records show.
  return parts.every((p) => p.type === 'text') ? parts.map((p) => (p as { text: string }).text).join('') : parts;
}

function textOfParts(parts: unknown[], where: string, lossy: FieldProblem[] | null): string {
  return parts.map((p, j) => {
    const part = (typeof p === 'object' && p !== null ? p : {}) as Record<string, unknown>;
    if (typeof part.text === 'string') return part.text;
    untranslatable(lossy, `${where}.${j}`, 'only text output parts are supported when the upstream speaks chat completions');
    return '';
  }).join('');
}

/** Null for a built-in tool when the call goes native (OpenAI runs it; chat has no equivalent). */
function toolToChat(tool: Record<string, unknown>, i: number, lossy: FieldProblem[] | null): Record<string, unknown> | null {
  if (tool.type !== 'function' || typeof tool.name !== 'string') {
    untranslatable(lossy, `tools.${i}.type`, `"${String(tool.type)}" tools need OpenAI itself; with this upstream only function tools are supported`);
    return null;
  }
  const fn: Record<string, unknown> = { name: tool.name, parameters: tool.parameters ?? { type: 'object', properties: {} } };
  if (typeof tool.description === 'string') fn.description = tool.description;
  if (typeof tool.strict === 'boolean') fn.strict = tool.strict;
  return { type: 'function', function: fn };
}

function toolChoiceToChat(choice: unknown, lossy: FieldProblem[] | null): unknown {
  if (choice === 'auto' || choice === 'none' || choice === 'required') return choice;
  const c = choice as Record<string, unknown>;
  if (typeof c === 'object' && c.type === 'function' && typeof c.name === 'string') return { type: 'function', function: { name: c.name } };
  untranslatable(lossy, 'tool_choice', 'must be "auto", "none", "required" or {type:"function", name} when the upstream speaks chat completions');
  return undefined;
}

function formatToChat(format: Record<string, unknown> | undefined): unknown {
  if (format === undefined || format.type === 'text') return undefined;
  if (format.type === 'json_object') return { type: 'json_object' };
  if (format.type === 'json_schema') {
    if (typeof format.name !== 'string' || typeof format.schema !== 'object' || format.schema === null) {
      throw invalid('text.format', 'a json_schema format needs name and schema');
    }
    const schema: Record<string, unknown> = { name: format.name, schema: format.schema };
    if (typeof format.strict === 'boolean') schema.strict = format.strict;
    if (typeof format.description === 'string') schema.description = format.description;
    return { type: 'json_schema', json_schema: schema };
  }
  throw invalid('text.format.type', 'must be "text", "json_object" or "json_schema"');
}

/** A 400 for what needs conversation state: "miprox is stateless", then the field and what to send instead. */
function stateful(path: string, message: string): BadRequestError {
  const problem: FieldProblem = { path, message: message.replace(/^miprox is stateless: /, '') };
  return new BadRequestError('miprox is stateless', [problem]);
}
