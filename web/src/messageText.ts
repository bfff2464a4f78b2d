/**
 * A recorded chat message as plain text for reading: the call records keep the client's messages as
 * it sent them (string or content parts, tool calls), in whatever shape its surface gave.
 */
export interface MessageText {
  role: string;
  text: string;
}

export function messageText(m: unknown): MessageText {
  if (typeof m !== 'object' || m === null) return { role: 'message', text: JSON.stringify(m) ?? String(m) };
  const rec = m as Record<string, unknown>;
  const role = typeof rec.role === 'string' && rec.role !== '' ? rec.role : 'message';
  const pieces: string[] = [];
  const content = contentText(rec.content);
  if (content !== '') pieces.push(content);
  if (Array.isArray(rec.tool_calls)) {
    for (const call of rec.tool_calls) {
      const fn = typeof call === 'object' && call !== null ? (call as { function?: { name?: unknown; arguments?: unknown } }).function : undefined;
      const name = typeof fn?.name === 'string' ? fn.name : 'tool';
      const args = typeof fn?.arguments === 'string' ? fn.arguments : JSON.stringify(fn?.arguments ?? {});
      pieces.push(`[tool call] ${name}(${args})`);
    }
  }
  return { role, text: pieces.join('\n') };
}

function contentText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return content === null || content === undefined ? '' : JSON.stringify(content);
  return content.map((part) => {
    if (typeof part === 'string') return part;
    const p = (typeof part === 'object' && part !== null ? part : {}) as { type?: unknown; text?: unknown };
    if (typeof p.text === 'string') return p.text;
    // An image or a file is not text: say what stood there rather than dump its data.
    return `[${typeof p.type === 'string' ? p.type : 'part'}]`;
  }).join('\n');
}

/**
 * How many of a call's recorded messages are system (or developer) messages ahead of its first
 * other message: the app's own context sent beside the module's system text (retrieved passages in
 * a second system message). The proxy keeps them before the candidate's demo turns.
 */
export function leadingSystemCount(messages: readonly unknown[]): number {
  const isSystem = (m: unknown) => ['system', 'developer'].includes(messageText(m).role);
  const first = messages.findIndex((m) => !isSystem(m));
  return first < 0 ? messages.length : first;
}
