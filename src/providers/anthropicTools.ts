import type { AnthropicRequest, AnthropicToolChoice } from './anthropicWire.js';
import { invalid, isRecord } from './anthropicTranslationError.js';
import { toolNameProblem } from './toolNames.js';

/** Chat-completions `tools` and `tool_choice` as the Messages API's (anthropicRequest.ts). */
export function translateTool(tool: Record<string, unknown>, i: number): NonNullable<AnthropicRequest['tools']>[number] {
  const fn = isRecord(tool.function) ? tool.function : undefined;
  if (tool.type !== 'function' || fn === undefined || typeof fn.name !== 'string') {
    throw invalid(`tools[${i}]`, 'only {type:"function", function:{name,...}} tools are supported by anthropic');
  }
  const nameProblem = toolNameProblem(fn.name, 'anthropic');
  if (nameProblem !== null) throw invalid(`tools[${i}].function.name`, nameProblem);
  const schema = inputSchema(fn.parameters, `tools[${i}].function.parameters`);
  return {
    name: fn.name,
    ...(typeof fn.description === 'string' ? { description: fn.description } : {}),
    input_schema: schema,
    // Strict tool use (inputs guaranteed to match the schema) is the Messages tool's `strict`; dropped,
    // the client would trust inputs Anthropic never promised to check.
    ...(typeof fn.strict === 'boolean' ? { strict: fn.strict } : {}),
  };
}

/**
 * A function's parameters as Anthropic's `input_schema`, which must say `type: "object"`. OpenAI takes
 * `parameters: {}` (what clients send for a tool without arguments) and Anthropic refused it with a
 * 400 after the rollout was recorded; a schema without a type is an object's, so the type is added.
 * Any other type cannot be a tool's input (arguments are always an object): refused by field.
 */
function inputSchema(parameters: unknown, where: string): Record<string, unknown> {
  if (!isRecord(parameters) || Array.isArray(parameters)) return { type: 'object', properties: {} };
  if (parameters.type === undefined) return { type: 'object', ...parameters };
  if (parameters.type !== 'object') throw invalid(`${where}.type`, 'must be "object" for anthropic (a tool\'s input is an object)');
  return parameters;
}

export function translateToolChoice(choice: unknown, noParallel: boolean): AnthropicToolChoice | undefined {
  const parallel = noParallel ? { disable_parallel_tool_use: true } : {};
  if (choice === undefined || choice === null) return noParallel ? { type: 'auto', ...parallel } : undefined;
  if (choice === 'auto') return { type: 'auto', ...parallel };
  if (choice === 'required') return { type: 'any', ...parallel };
  if (choice === 'none') return { type: 'none' };
  if (isRecord(choice) && isRecord(choice.function) && typeof choice.function.name === 'string') {
    return { type: 'tool', name: choice.function.name, ...parallel };
  }
  throw invalid('tool_choice', 'must be "auto", "none", "required" or {type:"function",function:{name}}');
}
