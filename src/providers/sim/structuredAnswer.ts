import type { ChatCompletionRequest } from '../../schemas/openai.js';
import { UpstreamError } from '../../shared/errors.js';
import { hashString, hex32 } from './hash.js';
import { SchemaTooLargeError, schemaInstance } from './schemaInstance.js';

/**
 * The simulator's answer in the shape the request asks for, so offline try-outs of agents and
 * structured output work: a request with function tools gets a tool call whose arguments validate
 * against the tool's parameters schema (until a tool result came back: then it answers in text,
 * which ends a tool loop); a `json_schema` response format gets JSON that validates against the
 * schema; `json_object` gets `{"answer": ...}`. String fields carry the simulated answer's text.
 */
export interface SimToolCall {
  id: string;
  name: string;
  arguments: string;
}

export interface StructuredAnswer {
  content: string;
  toolCalls: SimToolCall[] | undefined;
}

export function structuredAnswer(req: ChatCompletionRequest, content: string, idKey: string): StructuredAnswer {
  const tool = toolToCall(req);
  if (tool !== undefined) {
    const args = JSON.stringify(instanceOf(tool.parameters, content, `tools[${tool.index}].function.parameters`));
    return { content: '', toolCalls: [{ id: `call_sim${hex32(hashString(`${idKey}|${tool.name}`))}`, name: tool.name, arguments: args }] };
  }
  const format = req.response_format as Record<string, unknown> | undefined;
  if (format?.type === 'json_schema') {
    const spec = format.json_schema as Record<string, unknown> | undefined;
    return { content: JSON.stringify(instanceOf(spec?.schema, content, 'response_format.json_schema.schema')), toolCalls: undefined };
  }
  if (format?.type === 'json_object') return { content: JSON.stringify({ answer: content }), toolCalls: undefined };
  return { content, toolCalls: undefined };
}

interface FunctionTool {
  name: string;
  parameters: unknown;
  /** Its place in the request's `tools`. */
  index: number;
}

/** A schema too large to fill is refused as a provider refuses a request it cannot serve: a 400 naming the field. */
function instanceOf(schema: unknown, content: string, param: string): unknown {
  try {
    return schemaInstance(schema, content);
  } catch (err) {
    if (!(err instanceof SchemaTooLargeError)) throw err;
    throw new UpstreamError(`${param}: the simulator cannot answer this schema: ${err.message}`, {
      status: 400, code: 'invalid_request_error', upstreamStatus: 400, upstreamType: 'invalid_request_error', upstreamParam: param,
    });
  }
}

function toolToCall(req: ChatCompletionRequest): FunctionTool | undefined {
  const tools = (req.tools ?? []).flatMap((t, index): FunctionTool[] => {
    const fn = t.function as Record<string, unknown> | undefined;
    return t.type === 'function' && fn !== undefined && typeof fn.name === 'string' ? [{ name: fn.name, parameters: fn.parameters, index }] : [];
  });
  if (tools.length === 0) return undefined;
  const choice = req.tool_choice as unknown;
  if (choice === 'none') return undefined;
  const named = typeof choice === 'object' && choice !== null ? ((choice as { function?: { name?: unknown } }).function?.name) : undefined;
  const forced = choice === 'required' || typeof named === 'string';
  // A tool result is the last turn: the "model" has what it asked for and answers in text.
  const last = req.messages[req.messages.length - 1];
  if (!forced && last?.role === 'tool') return undefined;
  return tools.find((t) => t.name === named) ?? tools[0];
}
