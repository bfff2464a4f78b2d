import { describe, expect, it } from 'vitest';
import { FOLD_CHARS, FOLD_LINES, previewOf } from '../../web/src/components/foldedText.js';
import { leadingSystemCount, messageText } from '../../web/src/messageText.js';
import { parseRoute, rolloutHref } from '../../web/src/router.js';

describe('rollout page helpers', () => {
  it('routes #/jobs/{id}/rollouts/{id}, with ids that need escaping, and builds the same links', () => {
    expect(parseRoute('#/jobs/pl_1/rollouts/r-1')).toEqual({ name: 'rollout', jobId: 'pl_1', rolloutId: 'r-1' });
    // Rollout ids may hold : @ + = (docs/API.md): a link escapes them and the route reads them back.
    const id = 'a:b@c+d=e~f.g';
    expect(parseRoute(rolloutHref('pl_1', id))).toEqual({ name: 'rollout', jobId: 'pl_1', rolloutId: id });
    expect(parseRoute('#/jobs/pl_1')).toEqual({ name: 'job', jobId: 'pl_1' });
    expect(parseRoute('#/jobs/pl_1/rollouts/%zz')).toEqual({ name: 'jobs' });
    expect(parseRoute('#/jobs/pl_1/rollouts/')).toEqual({ name: 'jobs' });
  });

  it('folds a text past its line or character limit to a preview, and leaves a short one whole', () => {
    expect(previewOf('short')).toBeNull();
    expect(previewOf('x'.repeat(FOLD_CHARS))).toBeNull();
    expect(previewOf(`${'x'.repeat(FOLD_CHARS)}\n\n`)).toBeNull();
    expect(previewOf('x'.repeat(FOLD_CHARS + 1))).toBe(`${'x'.repeat(FOLD_CHARS)}…`);
    const lines = Array.from({ length: FOLD_LINES + 2 }, (_, i) => `line ${i}`);
    expect(previewOf(lines.join('\n'))).toBe(`${lines.slice(0, FOLD_LINES).join('\n')}…`);
    // Never half of an emoji.
    expect(previewOf(`${'x'.repeat(FOLD_CHARS - 1)}😀tail`)).toBe(`${'x'.repeat(FOLD_CHARS - 1)}…`);
  });

  it('counts the system and developer messages that open a recorded conversation', () => {
    const system = { role: 'system', content: 'Passages: ...' };
    expect(leadingSystemCount([system, { role: 'developer', content: 'x' }, { role: 'user', content: 'q' }, system])).toBe(2);
    expect(leadingSystemCount([{ role: 'user', content: 'q' }, system])).toBe(0);
    expect(leadingSystemCount([system])).toBe(1);
    expect(leadingSystemCount([])).toBe(0);
  });

  it('reads a recorded message as text: strings, content parts, tool calls', () => {
    expect(messageText({ role: 'user', content: 'hi' })).toEqual({ role: 'user', text: 'hi' });
    expect(messageText({ role: 'user', content: [{ type: 'text', text: 'look' }, { type: 'image_url', image_url: { url: 'data:...' } }] }))
      .toEqual({ role: 'user', text: 'look\n[image_url]' });
    expect(messageText({ role: 'assistant', content: null, tool_calls: [{ id: 'c1', type: 'function', function: { name: 'lookup', arguments: '{"q":"x"}' } }] }))
      .toEqual({ role: 'assistant', text: '[tool call] lookup({"q":"x"})' });
    expect(messageText('odd')).toEqual({ role: 'message', text: '"odd"' });
  });
});
