import { describe, expect, it } from 'vitest';
import { api } from '../helpers/server.js';
import { useSurfaceHarness } from '../helpers/surfaces.js';

/**
 * A native Responses or Messages body goes upstream as the client wrote it, key order included
 * (docs/API.md, "Native or translated"), as a chat body does: the proxy used to send the schema's
 * parsed copy, whose declared keys come first (`model`, `input`, `instructions`, ...) at the top and
 * in every item, so the Agents SDK's `{model, instructions, input, ...}` arrived reordered.
 */
const s = useSurfaceHarness(['openai', 'anthropic']);

/** The keys of an object in order, and of the objects it holds, as one list of paths. */
function keyPaths(value: unknown, at = ''): string[] {
  if (Array.isArray(value)) return value.flatMap((v, i) => keyPaths(v, `${at}${i}.`));
  if (typeof value !== 'object' || value === null) return [];
  return Object.entries(value).flatMap(([k, v]) => [`${at}${k}`, ...keyPaths(v, `${at}${k}.`)]);
}

const CASES = [
  ['openai', '/responses', {
    stream: false, tools: [], instructions: 'Translate to French.', input: [{ content: [{ text: 'hello', type: 'input_text' }], role: 'user', type: 'message' }],
    include: [], model: 'x', temperature: 0.3, max_output_tokens: 50,
  }],
  ['anthropic', '/messages', {
    stream: false, messages: [{ content: [{ text: 'hello', type: 'text' }], role: 'user' }], system: 'Translate to French.',
    max_tokens: 50, model: 'x', temperature: 0.3,
  }],
] as const;

describe.each(CASES)('a native %s call of no module', (provider, path, body) => {
  it('goes upstream with the client\'s key order, at the top and in its items', async () => {
    const job = s.jobs.get(provider)!;
    const res = await api(`${job.proxyUrl}/key-order-${provider}`, 'POST', path, { body, headers: { 'anthropic-version': '2023-06-01' } });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.headers.get('x-mipro-unmatched')).toBe('true');
    const upstream = s.h.upstreamOf(provider);
    expect(upstream).toHaveLength(1);
    const sent = upstream[0]!.body as Record<string, unknown>;
    // Only the policy's model changed in place; what the proxy adds (store: false) comes after.
    expect(keyPaths(sent).slice(0, keyPaths(body).length)).toEqual(keyPaths(body));
    expect({ ...sent, model: body.model, store: undefined }).toEqual({ ...body, store: undefined });
  });
});
