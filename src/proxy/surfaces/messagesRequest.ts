import { zodProblems } from '../../schemas/jobRequest.js';
import { type MessagesBlock, type MessagesRequest, MessagesRequestSchema } from '../../schemas/messages.js';
import type { ChatCompletionRequest, ChatMessage } from '../../schemas/openai.js';
import { type FieldProblem, ValidationError } from '../../shared/errors.js';
import { invalid, requireObjectBody, untranslatable } from './translationProblems.js';

/**
 * Anthropic Messages request -> the internal call (chat completions), pure. `system` (a string, or
 * text blocks joined with a blank line) becomes the first system message, where module matching
 * and injection look. What has no chat equivalent is refused with the field named; knobs that do
 * not change the answer's shape (thinking, top_k, cache_control) are ignored.
 *
 * `lossy`: the call goes to Anthropic natively (the upstream gets the client's own body), so the
 * internal call only serves matching, injection and the record: what has no chat equivalent is
 * listed there and left out of the internal call instead of refused.
 */
export function parseMessagesRequest(body: unknown): MessagesRequest {
  requireObjectBody(body);
  const parsed = MessagesRequestSchema.safeParse(body ?? {});
  if (!parsed.success) throw new ValidationError('invalid request', zodProblems(parsed.error, ''));
  // Validated, then used as the client sent it (as chat is: chatSurface.ts): the parsed copy puts the
  // schema's keys first, in its objects and blocks alike, and a native upstream gets this body as written.
  return { ...(body as MessagesRequest) };
}

/**
 * The system text of a Messages request: the string, or its text blocks joined by a blank line.
 * An empty one (`""`, `[]`, one empty text block) is no system text, as Anthropic reads it and as
 * Responses' `instructions: ""` is: the call routes as one that sent no `system`.
 */
export function messagesSystemText(system: MessagesRequest['system']): string | undefined {
  if (system === undefined) return undefined;
  const text = typeof system === 'string' ? system : system.map((b, j) => {
    if (b.type !== 'text' || typeof b.text !== 'string') throw invalid(`system.${j}.type`, 'system blocks must be text blocks');
    return b.text;
  }).join('\n\n');
  return text === '' ? undefined : text;
}

/**
 * The first block's text of a `system` of several text blocks, when it has text: what routing tries
 * alone when the joined text matches no module (SurfaceCall.firstSystemBlock). Null otherwise (a
 * string, one block), so a call of one system text costs nothing more. Read after messagesSystemText
 * checked the blocks.
 */
export function firstSystemBlock(req: MessagesRequest): string | null {
  const system = req.system;
  if (!Array.isArray(system) || system.length < 2) return null;
  const text = system[0]!.text;
  return typeof text === 'string' && text !== '' ? text : null;
}

/**
 * Where a message of the internal call came from in the Messages request (`system` or `messages.N`),
 * and for an assistant turn the `tool_use` block of each of its tool calls (`messages.N.content.M`):
 * one per internal message, filled by messagesToChat, read by messagesFieldOf.
 */
export interface MessagesOrigin {
  path: string;
  calls: string[];
}

export function messagesToChat(req: MessagesRequest, lossy: FieldProblem[] | null = null, origins: MessagesOrigin[] = []): ChatCompletionRequest {
  const messages: ChatMessage[] = [];
  const system = messagesSystemText(req.system);
  if (system !== undefined) {
    messages.push({ role: 'system', content: system });
    origins.push({ path: 'system', calls: [] });
  }
  req.messages.forEach((m, i) => {
    const path = `messages.${i}`;
    if (typeof m.content === 'string') {
      messages.push({ role: m.role, content: m.content });
      origins.push({ path, calls: [] });
      return;
    }
    if (m.role === 'assistant') {
      const calls: string[] = [];
      messages.push(assistantToChat(m.content, i, lossy, calls));
      origins.push({ path, calls });
    } else {
      // Tool results become chat tool messages ahead of the user's own text: each comes from this turn.
      const turns = userToChat(m.content, i, lossy);
      messages.push(...turns);
      origins.push(...turns.map(() => ({ path, calls: [] })));
    }
  });
  const last = messages.at(-1);
  if (last?.role === 'assistant' && last.tool_calls === undefined) {
    // A prefill: Anthropic continues the turn, and apps join prefill and answer ('{' + the rest). A
    // chat-completions model answers a final assistant turn with a new turn instead, so the joined
    // text came out doubled ('{{"a": 1}'): refused, not sent.
    untranslatable(lossy, `messages.${req.messages.length - 1}`, 'a final assistant turn (prefill) needs Anthropic itself: a chat-completions model starts a new turn instead of continuing it; end with a user turn');
  }
  const chat: ChatCompletionRequest = { messages, ...(req.max_tokens !== undefined ? { max_tokens: req.max_tokens } : {}) };
  if (typeof req.model === 'string') chat.model = req.model;
  if (req.stream === true) chat.stream = true;
  if (typeof req.temperature === 'number') chat.temperature = req.temperature;
  if (typeof req.top_p === 'number') chat.top_p = req.top_p;
  if (req.stop_sequences !== undefined && req.stop_sequences.length > 0) chat.stop = req.stop_sequences;
  if (typeof req.metadata?.user_id === 'string') chat.user = req.metadata.user_id;
  // The MCP connector: Anthropic calls these servers' tools while it answers. Dropped, the model would
  // answer without the tools the client gave it, as a server tool would (refused in toolToChat).
  if (req.mcp_servers !== undefined && req.mcp_servers.length > 0) {
    untranslatable(lossy, 'mcp_servers', 'MCP servers are called by Anthropic itself; with this upstream give their tools as custom tools');
  }
  const tools = (req.tools ?? []).map((t, i) => toolToChat(t, i, lossy)).filter((t): t is Record<string, unknown> => t !== null);
  if (tools.length > 0) chat.tools = tools;
  if (req.tool_choice !== undefined) Object.assign(chat, toolChoiceToChat(req.tool_choice));
  const format = outputFormatToChat(req, lossy);
  if (format !== undefined) chat.response_format = format;
  // Effort is chat's `reasoning_effort`: the same knob, and OpenAI's levels include every one of
  // Anthropic's (low, medium, high, xhigh, max). Dropped, a reasoning model would think at its default
  // and the job's temperature would be added beside it, which OpenAI's reasoning models refuse.
  const effort = req.output_config?.effort;
  if (typeof effort === 'string') chat.reasoning_effort = effort;
  if (req.mipro !== undefined) chat.mipro = req.mipro;
  return chat;
}

/**
 * Structured outputs as chat's `response_format`. The current name, `output_config.format`, was
 * dropped silently (only the beta's `output_format` was read): the model then answered free text and
 * `messages.parse` had nothing to parse. A format chat cannot say is refused, not dropped.
 */
function outputFormatToChat(req: MessagesRequest, lossy: FieldProblem[] | null): Record<string, unknown> | undefined {
  const [format, where] = req.output_config?.format != null ? [req.output_config.format, 'output_config.format'] : [req.output_format, 'output_format'];
  if (format == null) return undefined;
  const schema = format.schema;
  if (format.type !== 'json_schema' || typeof schema !== 'object' || schema === null || Array.isArray(schema)) {
    untranslatable(lossy, where, 'must be {type: "json_schema", schema: {...}} when the upstream speaks chat completions');
    return undefined;
  }
  // Strict only where OpenAI takes the schema as strict: it refuses a strict schema with an optional
  // property (every key must be in `required`) or an object open to others, which Anthropic accepts
  // (the Anthropic SDK's zodOutputFormat makes `.optional()` fields just that), so a strict `true`
  // there turned a valid call into OpenAI's 400 on a response_format the client never sent.
  return { type: 'json_schema', json_schema: { name: 'output', schema, strict: strictCompatible(schema) } };
}

/** Whether every object in the schema closes its properties and requires them all (OpenAI's strict rules). */
function strictCompatible(node: unknown): boolean {
  if (Array.isArray(node)) return node.every(strictCompatible);
  if (typeof node !== 'object' || node === null) return true;
  const n = node as Record<string, unknown>;
  const props = n.properties;
  if (n.type === 'object' || (typeof props === 'object' && props !== null)) {
    if (n.additionalProperties !== false) return false;
    const keys = typeof props === 'object' && props !== null ? Object.keys(props) : [];
    const required = Array.isArray(n.required) ? n.required : [];
    if (!keys.every((k) => required.includes(k))) return false;
  }
  return Object.entries(n).every(([k, v]) => k === 'enum' || k === 'const' || k === 'default' || k === 'examples' || strictCompatible(v));
}

/** Tool results come first (chat wants them right after the assistant's calls), then the user's own text. */
function userToChat(blocks: MessagesBlock[], i: number, lossy: FieldProblem[] | null): ChatMessage[] {
  const tools: ChatMessage[] = [];
  const parts: Array<Record<string, unknown>> = [];
  blocks.forEach((b, j) => {
    const where = `messages.${i}.content.${j}`;
    switch (b.type) {
      case 'text':
        if (typeof b.text !== 'string') throw invalid(`${where}.text`, 'must be a string');
        parts.push({ type: 'text', text: b.text });
        return;
      case 'image': {
        const url = imageUrl(b.source, `${where}.source`, lossy);
        if (url !== null) parts.push({ type: 'image_url', image_url: { url } });
        return;
      }
      case 'tool_result':
        if (typeof b.tool_use_id !== 'string') throw invalid(`${where}.tool_use_id`, 'is required');
        tools.push({ role: 'tool', tool_call_id: b.tool_use_id, content: resultText(b.content, `${where}.content`, lossy) });
        return;
      default:
        untranslatable(lossy, `${where}.type`, `"${b.type}" is not supported when the upstream speaks chat completions`);
    }
  });
  if (parts.length === 0) return tools;
  const content = parts.every((p) => p.type === 'text') ? parts.map((p) => p.text as string).join('') : parts;
  return [...tools, { role: 'user', content } as ChatMessage];
}

/** `callPaths` receives the client's path of each tool call's `tool_use` block, in order. */
function assistantToChat(blocks: MessagesBlock[], i: number, lossy: FieldProblem[] | null, callPaths: string[]): ChatMessage {
  let text = '';
  const calls: Array<Record<string, unknown>> = [];
  blocks.forEach((b, j) => {
    const where = `messages.${i}.content.${j}`;
    if (b.type === 'text' && typeof b.text === 'string') text += b.text;
    else if (b.type === 'tool_use') {
      if (typeof b.id !== 'string' || typeof b.name !== 'string') throw invalid(where, 'a tool_use block needs id and name');
      calls.push({ id: b.id, type: 'function', function: { name: b.name, arguments: JSON.stringify(b.input ?? {}) } });
      callPaths.push(where);
    } else if (b.type !== 'thinking' && b.type !== 'redacted_thinking') {
      untranslatable(lossy, `${where}.type`, `"${b.type}" is not supported when the upstream speaks chat completions`);
    }
  });
  const message: ChatMessage = { role: 'assistant', content: text === '' && calls.length > 0 ? null : text };
  if (calls.length > 0) message.tool_calls = calls;
  return message;
}

function resultText(content: unknown, where: string, lossy: FieldProblem[] | null): string {
  if (content === undefined || content === null) return '';
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) throw invalid(where, 'must be a string or text blocks');
  return content.map((b: unknown, j) => {
    const block = (typeof b === 'object' && b !== null ? b : {}) as Record<string, unknown>;
    if (block.type === 'text' && typeof block.text === 'string') return block.text;
    untranslatable(lossy, `${where}.${j}.type`, 'only text tool results are supported when the upstream speaks chat completions');
    return '';
  }).join('');
}

/** Null when the source has no chat equivalent (a file id) and the call goes native. */
function imageUrl(source: unknown, where: string, lossy: FieldProblem[] | null): string | null {
  const s = source as Record<string, unknown> | undefined;
  if (s?.type === 'base64' && typeof s.media_type === 'string' && typeof s.data === 'string') return `data:${s.media_type};base64,${s.data}`;
  if (s?.type === 'url' && typeof s.url === 'string') return s.url;
  untranslatable(lossy, where, 'must be a base64 or url image source when the upstream speaks chat completions');
  return null;
}

/** Null for a server tool when the call goes native (Anthropic runs it; chat has no equivalent). */
function toolToChat(tool: Record<string, unknown>, i: number, lossy: FieldProblem[] | null): Record<string, unknown> | null {
  if (tool.type !== undefined && tool.type !== null && tool.type !== 'custom') {
    untranslatable(lossy, `tools.${i}.type`, `"${String(tool.type)}" (a server tool) needs Anthropic itself; with this upstream only custom tools are supported`);
    return null;
  }
  // Example inputs are shown to the model with the tool; chat has no field for them, and dropped they
  // would change how the model calls it.
  if (Array.isArray(tool.input_examples) && tool.input_examples.length > 0) {
    untranslatable(lossy, `tools.${i}.input_examples`, 'tool input examples need Anthropic itself; with this upstream describe them in the tool\'s description');
  }
  const fn: Record<string, unknown> = { name: tool.name, parameters: tool.input_schema ?? { type: 'object', properties: {} } };
  if (typeof tool.description === 'string') fn.description = tool.description;
  // Strict tool use (inputs guaranteed to match the schema) is chat's `function.strict`; dropped, the
  // client would trust inputs the upstream never promised to check.
  if (typeof tool.strict === 'boolean') fn.strict = tool.strict;
  return { type: 'function', function: fn };
}

function toolChoiceToChat(choice: Record<string, unknown>): Partial<ChatCompletionRequest> {
  const parallel = choice.disable_parallel_tool_use === true ? { parallel_tool_calls: false } : {};
  switch (choice.type) {
    case 'auto': return { tool_choice: 'auto', ...parallel };
    case 'any': return { tool_choice: 'required', ...parallel };
    case 'none': return { tool_choice: 'none' };
    case 'tool':
      if (typeof choice.name !== 'string') throw invalid('tool_choice.name', 'is required');
      return { tool_choice: { type: 'function', function: { name: choice.name } }, ...parallel };
    default:
      throw invalid('tool_choice.type', 'must be "auto", "any", "tool" or "none"');
  }
}
