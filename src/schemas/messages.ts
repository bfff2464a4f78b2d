import { z } from 'zod';
import { MiproCallFieldSchema } from './miproCall.js';
import { MAX_CONTENT_PARTS, MAX_MESSAGES, MAX_TOOLS } from './openai.js';

/**
 * Anthropic Messages API request, as the proxy reads it (https://docs.anthropic.com/en/api/messages).
 * Loose: fields miprox neither reads nor rewrites (thinking, top_k, cache_control...) pass through to
 * a native upstream untouched. What Anthropic itself sends back is in providers/anthropicWire.ts.
 */
export const MessagesBlockSchema = z.looseObject({ type: z.string() });
export type MessagesBlock = z.infer<typeof MessagesBlockSchema>;

export const MessagesMessageSchema = z.looseObject({
  role: z.enum(['user', 'assistant'], { error: 'must be "user" or "assistant"' }),
  // The union's message covers the array's bound too, so it says which rule an array broke (as `system`).
  content: z.union([z.string(), z.array(MessagesBlockSchema).max(MAX_CONTENT_PARTS)], {
    error: (issue) => (Array.isArray(issue.input) && issue.input.length > MAX_CONTENT_PARTS ? `must have at most ${MAX_CONTENT_PARTS} blocks` : 'must be a string or an array of content blocks'),
  }),
});
export type MessagesMessage = z.infer<typeof MessagesMessageSchema>;

/**
 * A tool: a custom tool (no `type`, or `custom`) has a name; server tools and toolsets may not
 * (`mcp_toolset` names its server in `mcp_server_name`; `browser_toolset_...` has only a type), and
 * requiring one refused, natively, calls Anthropic takes.
 */
export const MessagesToolSchema = z.looseObject({ type: z.string().nullable().optional(), name: z.string().optional() }).superRefine((tool, ctx) => {
  if ((tool.type === undefined || tool.type === null || tool.type === 'custom') && tool.name === undefined) {
    ctx.addIssue({ code: 'custom', path: ['name'], message: 'is required (a custom tool needs a name)' });
  }
});

/** A structured-output format: `{type: "json_schema", schema}`, the only type Anthropic defines. */
export const MessagesOutputFormatSchema = z.looseObject({ type: z.string() });

export const MessagesRequestSchema = z.looseObject({
  model: z.string().optional(),
  // Anthropic requires it; the proxy, as on every surface (SPEC.md), sends the policy's
  // max_completion_tokens when a call leaves it out (proxy/injection.ts).
  max_tokens: z.number().int().positive({ error: 'must be a positive integer' }).optional(),
  messages: z.array(MessagesMessageSchema).min(1, 'must contain at least one message').max(MAX_MESSAGES),
  system: z.union([z.string(), z.array(MessagesBlockSchema).max(MAX_CONTENT_PARTS)], {
    error: (issue) => (Array.isArray(issue.input) && issue.input.length > MAX_CONTENT_PARTS ? `must have at most ${MAX_CONTENT_PARTS} blocks` : 'must be a string or an array of text blocks'),
  }).optional(),
  stream: z.boolean().optional(),
  temperature: z.number().min(0).max(1).optional(),
  top_p: z.number().optional(),
  stop_sequences: z.array(z.string()).optional(),
  tools: z.array(MessagesToolSchema).max(MAX_TOOLS).optional(),
  tool_choice: z.looseObject({ type: z.string() }).optional(),
  metadata: z.looseObject({ user_id: z.string().optional().nullable() }).optional(),
  /**
   * Structured outputs: `output_config.format` is what the API and the SDK (`messages.parse`,
   * `jsonSchemaOutputFormat`) send; `output_format` is the earlier beta's name for the same thing.
   */
  output_config: z.looseObject({
    format: MessagesOutputFormatSchema.nullable().optional(),
    /** How much the model may think (`low` ... `max`); a string, so a level Anthropic adds later goes through. */
    effort: z.string().nullable().optional(),
  }).nullable().optional(),
  output_format: MessagesOutputFormatSchema.nullable().optional(),
  /** Remote MCP servers (beta) whose tools Anthropic itself calls during the answer. */
  mcp_servers: z.array(z.looseObject({})).max(MAX_TOOLS).optional(),
  mipro: MiproCallFieldSchema.optional(),
});
export type MessagesRequest = z.infer<typeof MessagesRequestSchema>;
