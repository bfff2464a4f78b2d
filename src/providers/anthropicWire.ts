import { z } from 'zod';

/**
 * Anthropic Messages API wire formats (https://docs.anthropic.com/en/api/messages), only as far as the
 * OpenAI translation uses them. Answers are parsed loosely (`looseObject`): new fields must not break
 * the translation. These live beside the provider because nothing else in miprox speaks Anthropic.
 */
export const ANTHROPIC_VERSION = '2023-06-01';

// ---- request (what miprox sends) -------------------------------------------------------------

const TextBlockSchema = z.object({ type: z.literal('text'), text: z.string() });
const ImageBlockSchema = z.object({
  type: z.literal('image'),
  source: z.union([
    z.object({ type: z.literal('base64'), media_type: z.string(), data: z.string() }),
    z.object({ type: z.literal('url'), url: z.string() }),
  ]),
});
const ToolUseBlockSchema = z.object({
  type: z.literal('tool_use'),
  id: z.string(),
  name: z.string(),
  input: z.record(z.string(), z.unknown()),
});
const ToolResultBlockSchema = z.object({
  type: z.literal('tool_result'),
  tool_use_id: z.string(),
  /** Optional: a tool without output sends none (Anthropic refuses an empty string). */
  content: z.union([z.string(), z.array(z.union([TextBlockSchema, ImageBlockSchema]))]).optional(),
});
export const AnthropicRequestBlockSchema = z.union([
  TextBlockSchema,
  ImageBlockSchema,
  ToolUseBlockSchema,
  ToolResultBlockSchema,
]);
export type AnthropicRequestBlock = z.infer<typeof AnthropicRequestBlockSchema>;
export type AnthropicTextBlock = z.infer<typeof TextBlockSchema>;
export type AnthropicImageBlock = z.infer<typeof ImageBlockSchema>;

export const AnthropicMessageParamSchema = z.object({
  role: z.enum(['user', 'assistant']),
  content: z.array(AnthropicRequestBlockSchema),
});
export type AnthropicMessageParam = z.infer<typeof AnthropicMessageParamSchema>;

export const AnthropicToolChoiceSchema = z.union([
  z.object({ type: z.enum(['auto', 'any']), disable_parallel_tool_use: z.boolean().optional() }),
  z.object({ type: z.literal('tool'), name: z.string(), disable_parallel_tool_use: z.boolean().optional() }),
  z.object({ type: z.literal('none') }),
]);
export type AnthropicToolChoice = z.infer<typeof AnthropicToolChoiceSchema>;

export const AnthropicRequestSchema = z.object({
  model: z.string(),
  max_tokens: z.number().int().positive(),
  messages: z.array(AnthropicMessageParamSchema),
  system: z.string().optional(),
  temperature: z.number().optional(),
  top_p: z.number().optional(),
  stop_sequences: z.array(z.string()).optional(),
  stream: z.boolean().optional(),
  tools: z
    .array(
      z.object({
        name: z.string(),
        description: z.string().optional(),
        input_schema: z.record(z.string(), z.unknown()),
        strict: z.boolean().optional(),
      }),
    )
    .optional(),
  tool_choice: AnthropicToolChoiceSchema.optional(),
  metadata: z.object({ user_id: z.string().optional() }).optional(),
  /** Structured outputs: the answer is JSON text valid against `schema` (chat's json_schema response_format). */
  output_config: z.object({ format: z.object({ type: z.literal('json_schema'), schema: z.record(z.string(), z.unknown()) }) }).optional(),
});
export type AnthropicRequest = z.infer<typeof AnthropicRequestSchema>;

// ---- response (what Anthropic answers) -------------------------------------------------------

/**
 * Counts that are not numbers read as absent, and a usage that is not an object as no usage: a
 * valid answer (or stream event) must not be refused over its token counts (schemas/openai.ts).
 */
const reportedCount = z.number().nullable().optional().catch(undefined);

const AnthropicUsageObjectSchema = z.looseObject({
  input_tokens: reportedCount,
  output_tokens: reportedCount,
  cache_creation_input_tokens: reportedCount,
  cache_read_input_tokens: reportedCount,
});
export const AnthropicUsageSchema = AnthropicUsageObjectSchema.nullable().optional().catch(undefined);
export type AnthropicUsage = z.infer<typeof AnthropicUsageObjectSchema>;

export const AnthropicResponseBlockSchema = z.looseObject({
  type: z.string(),
  text: z.string().optional(),
  id: z.string().optional(),
  name: z.string().optional(),
  input: z.unknown().optional(),
});
export type AnthropicResponseBlock = z.infer<typeof AnthropicResponseBlockSchema>;

export const AnthropicMessageSchema = z.looseObject({
  id: z.string(),
  model: z.string(),
  content: z.array(AnthropicResponseBlockSchema),
  stop_reason: z.string().nullable().optional(),
  usage: AnthropicUsageSchema,
});
export type AnthropicMessage = z.infer<typeof AnthropicMessageSchema>;

// ---- stream events ---------------------------------------------------------------------------

export const AnthropicStreamEventSchema = z.discriminatedUnion('type', [
  z.looseObject({
    type: z.literal('message_start'),
    message: z.looseObject({ id: z.string(), model: z.string(), usage: AnthropicUsageSchema.optional() }),
  }),
  z.looseObject({
    type: z.literal('content_block_start'),
    index: z.number(),
    content_block: AnthropicResponseBlockSchema,
  }),
  z.looseObject({
    type: z.literal('content_block_delta'),
    index: z.number(),
    delta: z.looseObject({
      type: z.string(),
      text: z.string().optional(),
      partial_json: z.string().optional(),
    }),
  }),
  z.looseObject({ type: z.literal('content_block_stop'), index: z.number() }),
  z.looseObject({
    type: z.literal('message_delta'),
    delta: z.looseObject({ stop_reason: z.string().nullable().optional() }),
    usage: AnthropicUsageSchema,
  }),
  z.looseObject({ type: z.literal('message_stop') }),
  z.looseObject({ type: z.literal('ping') }),
  z.looseObject({
    type: z.literal('error'),
    error: z.looseObject({ type: z.string().optional(), message: z.string().optional() }),
  }),
]);
export type AnthropicStreamEvent = z.infer<typeof AnthropicStreamEventSchema>;
