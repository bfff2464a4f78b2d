import type { ChatCompletionChunk } from 'openai/resources/chat/completions';

/** Drains an openai SDK chat stream: the concatenated text, how many chunks came, and the usage chunk's tokens. */
export async function readChatStream(stream: AsyncIterable<ChatCompletionChunk>): Promise<{ text: string; chunks: number; totalTokens: number | undefined }> {
  let text = '';
  let chunks = 0;
  let totalTokens: number | undefined;
  for await (const chunk of stream) {
    chunks++;
    text += chunk.choices[0]?.delta.content ?? '';
    if (chunk.usage) totalTokens = chunk.usage.total_tokens;
  }
  return { text, chunks, totalTokens };
}
