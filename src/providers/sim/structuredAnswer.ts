import type { ChatCompletionRequest } from '../../schemas/openai.js';
import { hashString, hex32 } from './hash.js';
import { schemaInstance } from './schemaInstance.js';

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
    const args = JSON.stringify(schemaInstance(tool.parameters, content));
    return { content: '', toolCalls: [{ id: `call_sim${hex32(hashString(`${idKey}|${tool.name}`))}`, name: tool.name, arguments: args }] };
  }
  const format = req.response_format as Record<string, unknown> | undefined;
  if (format?.type === 'json_schema') {
    const spec = format.json_schema as Record<string, unknown> | undefined;
    return { content: JSON.stringify(schemaInstance(spec?.schema, content)), toolCalls: undefined };
  }
  if (format?.type === 'json_object') return { content: JSON.stringify({ answer: content }), toolCalls: undefined };
  return { content, toolCalls: undefined };
}

interface FunctionTool {
  name: string;
  parameters: unknown;
}

function toolToCall(req: ChatCompletionRequest): FunctionTool | undefined {
  const tools = (req.tools ?? []).flatMap((t): FunctionTool[] => {
    const fn = t.function as Record<string, unknown> | undefined;
    return t.type === 'function' && fn !== undefined && typeof fn.name === 'string' ? [{ name: fn.name, parameters: fn.parameters }] : [];
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
