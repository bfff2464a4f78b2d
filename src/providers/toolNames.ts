/**
 * The tool names each provider takes. Neither rule is in its SDK's types (a name is a plain string
 * there); both are the providers' own 400s, read from public reports rather than from a real call:
 * OpenAI chat: "Invalid 'tools[0].function.name': string does not match pattern. Expected a string
 * that matches the pattern '^[a-zA-Z0-9_-]+$'" and "string too long. Expected a string with maximum
 * length 64" (openai-node's FunctionDefinition.name doc says the same); OpenAI Responses: "Invalid
 * 'tools[16].name': string does not match pattern" (no report of its length limit, so none is
 * assumed); Anthropic: "tools.0.custom.name: String should match pattern '^[a-zA-Z0-9_-]{1,128}$'" (it
 * was {1,64} before mid-2025). Sent anyway, the provider's 400 came after the rollout was recorded,
 * naming a field the client may never have written (a Messages client's name checked against
 * OpenAI's shorter limit).
 */
const PLAIN_NAME = /^[a-zA-Z0-9_-]+$/;

export type ToolNameRule = 'openai' | 'openai_responses' | 'anthropic';

const MAX_LENGTH: Readonly<Record<ToolNameRule, number | null>> = { openai: 64, openai_responses: null, anthropic: 128 };

/** Why `name` is refused by the provider, or null when it takes it. */
export function toolNameProblem(name: string, rule: ToolNameRule): string | null {
  const max = MAX_LENGTH[rule];
  const provider = rule === 'anthropic' ? 'anthropic' : 'openai';
  const takes = max === null ? `${provider} takes tool names matching ^[a-zA-Z0-9_-]+$` : `${provider} takes tool names of 1 to ${max} characters matching ^[a-zA-Z0-9_-]+$`;
  if (name === '') return `is empty: ${takes}`;
  if (max !== null && name.length > max) return `is ${name.length} characters long: ${takes}`;
  return PLAIN_NAME.test(name) ? null : `has a character other than a letter, a digit, _ or -: ${takes}`;
}
