import { z } from 'zod';
import { MiproCallFieldSchema } from './miproCall.js';
import { MAX_CONTENT_PARTS, MAX_MESSAGES, MAX_TOOLS } from './openai.js';

/**
 * OpenAI Responses API request, as the proxy reads it (https://platform.openai.com/docs/api-reference/responses).
 * Loose like the chat schema: fields miprox neither reads nor rewrites pass through to a native
 * upstream untouched. Input items are checked one by one by the translator, which names the item.
 */
export const ResponsesInputItemSchema = z.looseObject({
  type: z.string().optional(),
  role: z.string().optional(),
  content: z.union([z.string(), z.array(z.looseObject({ type: z.string() })).max(MAX_CONTENT_PARTS)], {
    error: `must be a string or an array of at most ${MAX_CONTENT_PARTS} content parts`,
  }).optional(),
});
export type ResponsesInputItem = z.infer<typeof ResponsesInputItemSchema>;

export const ResponsesInputSchema = z.array(ResponsesInputItemSchema).max(MAX_MESSAGES);

export const ResponsesRequestSchema = z.looseObject({
  model: z.string().optional(),
  // Optional, as in OpenAI's API (a call may be its instructions or a stored `prompt` alone): the
  // proxy reads a missing input as an empty one and a native call goes without it, as sent.
  input: z.union([z.string(), ResponsesInputSchema], { error: 'must be a string or an array of input items' }).optional(),
  instructions: z.string().nullable().optional(),
  stream: z.boolean().optional().nullable(),
  temperature: z.number().min(0).max(2).optional().nullable(),
  top_p: z.number().optional().nullable(),
  max_output_tokens: z.number().int().positive().optional().nullable(),
  tools: z.array(z.looseObject({ type: z.string() })).max(MAX_TOOLS).optional(),
  tool_choice: z.unknown().optional(),
  parallel_tool_calls: z.boolean().optional().nullable(),
  text: z.looseObject({ format: z.looseObject({ type: z.string() }).optional() }).optional().nullable(),
  store: z.boolean().optional().nullable(),
  previous_response_id: z.string().optional().nullable(),
  /** A prompt stored at OpenAI (`{id, version, variables}`): only OpenAI can resolve it. */
  prompt: z.looseObject({}).optional().nullable(),
  user: z.string().optional(),
  /** Checked here: translated, a non-string one was silently dropped (it goes as chat's safety_identifier). */
  safety_identifier: z.string().nullable().optional(),
  mipro: MiproCallFieldSchema.optional(),
});
export type ResponsesRequest = z.infer<typeof ResponsesRequestSchema>;
