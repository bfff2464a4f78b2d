import { z } from 'zod';
import { MiproCallFieldSchema } from './miproCall.js';

/**
 * OpenAI chat-completions wire formats. Requests are validated loosely: the proxy must pass through
 * fields it does not know (tools, response_format, logprobs, vendor extensions), so only what miprox
 * reads or rewrites is checked and everything else is kept (`loose`).
 */
export const ChatContentPartSchema = z.looseObject({ type: z.string() });

/**
 * Array bounds are far above real requests; they keep a hostile body from costing seconds of
 * validation (zod checks an array's length before its elements).
 */
export const MAX_CONTENT_PARTS = 4096;
export const MAX_TOOLS = 1024;
/** Far more than any context window holds; a bound on the work one request can ask for. */
export const MAX_MESSAGES = 10_000;

export const ChatMessageSchema = z.looseObject({
  role: z.string().min(1),
  content: z.union([z.string(), z.array(ChatContentPartSchema).max(MAX_CONTENT_PARTS), z.null()], {
    error: `must be a string, an array of at most ${MAX_CONTENT_PARTS} content parts, or null`,
  }).optional(),
  name: z.string().optional(),
  tool_calls: z.array(z.looseObject({})).max(MAX_TOOLS).optional(),
  tool_call_id: z.string().optional(),
  /** An assistant turn where the model refused (what OpenAI answered instead of `content`). */
  refusal: z.string().nullable().optional(),
});

export const ChatCompletionRequestSchema = z.looseObject({
  model: z.string().optional(),
  messages: z.array(ChatMessageSchema).min(1, 'must contain at least one message'),
  /** Null is no stream, as OpenAI reads it (its SDK types the field `boolean | null`). */
  stream: z.boolean().nullable().optional(),
  temperature: z.number().min(0).max(2).optional().nullable(),
  max_tokens: z.number().int().positive().optional().nullable(),
  max_completion_tokens: z.number().int().positive().optional().nullable(),
  tools: z.array(z.looseObject({})).max(MAX_TOOLS).optional(),
  tool_choice: z.unknown().optional(),
  response_format: z.unknown().optional(),
  stream_options: z.looseObject({ include_usage: z.boolean().optional() }).optional().nullable(),
  /**
   * Who the end user is (both go to Anthropic as `metadata.user_id`). Checked here because a number
   * there reached OpenAI as a 400 but was silently dropped on the way to Anthropic; null is absent.
   */
  user: z.string().nullable().optional(),
  safety_identifier: z.string().nullable().optional(),
  /**
   * One choice per call: fewer choices than asked for would silently change the answer's shape, and
   * more would be spend the job owner did not decide (proxy/requestBody.ts limitSpend).
   */
  n: z.union([z.literal(1), z.null()], { error: 'must be 1 (miprox serves one choice per call)' }).optional(),
  /** miprox's own field (module, variables): read by the proxy, never sent upstream. */
  mipro: MiproCallFieldSchema.optional(),
});

export type ChatMessage = z.infer<typeof ChatMessageSchema>;
export type ChatCompletionRequest = z.infer<typeof ChatCompletionRequestSchema>;

/**
 * A count an upstream reported, or absent when it is not a number: OpenAI-compatible servers send
 * null, strings or nothing there, and a valid answer must not fail over its token counts. What is
 * unreadable records no tokens (store/usage.ts clamps what is read).
 */
const reportedCount = z.number().optional().catch(undefined);

export const UsageSchema = z.looseObject({
  prompt_tokens: reportedCount,
  completion_tokens: reportedCount,
  total_tokens: reportedCount,
});
export type Usage = z.infer<typeof UsageSchema>;

/** An answer's `usage`: absent when it is not an object (`usage: "x"`), like `usage: null`. */
const ReportedUsageSchema = UsageSchema.nullable().optional().catch(undefined);

export const ChatCompletionSchema = z.looseObject({
  id: z.string(),
  object: z.string().optional(),
  created: z.number().optional(),
  model: z.string().optional(),
  choices: z.array(
    z.looseObject({
      index: z.number(),
      message: z.looseObject({
        role: z.string(),
        content: z.string().nullable().optional(),
        /** A model's refusal (structured outputs), sent instead of `content`. */
        refusal: z.string().nullable().optional(),
        tool_calls: z.array(z.looseObject({})).optional(),
      }),
      finish_reason: z.string().nullable().optional(),
    }),
  ),
  usage: ReportedUsageSchema,
});
export type ChatCompletion = z.infer<typeof ChatCompletionSchema>;

export const ChatCompletionChunkSchema = z.looseObject({
  id: z.string(),
  object: z.string().optional(),
  created: z.number().optional(),
  model: z.string().optional(),
  choices: z.array(
    z.looseObject({
      index: z.number(),
      delta: z.looseObject({
        role: z.string().optional(),
        content: z.string().nullable().optional(),
        refusal: z.string().nullable().optional(),
        tool_calls: z.array(z.looseObject({})).optional(),
      }),
      finish_reason: z.string().nullable().optional(),
    }),
  ),
  usage: ReportedUsageSchema,
});
export type ChatCompletionChunk = z.infer<typeof ChatCompletionChunkSchema>;

/** OpenAI's error body: what the proxy returns for every failure. */
export const OpenAIErrorBodySchema = z.object({
  error: z.object({
    message: z.string(),
    type: z.string(),
    param: z.string().nullable(),
    code: z.string().nullable(),
  }),
});
export type OpenAIErrorBody = z.infer<typeof OpenAIErrorBodySchema>;
