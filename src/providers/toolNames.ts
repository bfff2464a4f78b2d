/**
 * The tool names each provider takes. Neither rule is in its SDK's types (a name is a plain string
 * there); both are the providers' own 400s, read from public reports rather than from a real call:
 * OpenAI: "Invalid 'tools[0].function.name': string does not match pattern. Expected a string that
 * matches the pattern '^[a-zA-Z0-9_-]+$'" and "string too long. Expected a string with maximum length
 * 64" (openai-node's FunctionDefinition.name doc says the same); Anthropic: "tools.0.custom.name:
 * String should match pattern '^[a-zA-Z0-9_-]{1,128}$'" (it was {1,64} before mid-2025). Sent anyway,
 * the provider's 400 came after the rollout was recorded, naming a field the client may never have
 * written (a Messages client's name checked against OpenAI's shorter limit).
 */
const OPENAI_FUNCTION_NAME = /^[a-zA-Z0-9_-]{1,64}$/;
const ANTHROPIC_TOOL_NAME = /^[a-zA-Z0-9_-]{1,128}$/;

export type ToolNameRule = 'openai' | 'anthropic';

/** Why `name` is refused by the provider, or null when it takes it. */
export function toolNameProblem(name: string, rule: ToolNameRule): string | null {
  const [pattern, max] = rule === 'openai' ? [OPENAI_FUNCTION_NAME, 64] : [ANTHROPIC_TOOL_NAME, 128];
  if (pattern.test(name)) return null;
  const what = name === '' ? 'is empty' : name.length > max ? `is ${name.length} characters long` : 'has a character other than a letter, a digit, _ or -';
  return `${what}: ${rule} takes tool names of 1 to ${max} characters matching ^[a-zA-Z0-9_-]+$`;
}
