import { describe, expect, it } from 'vitest';
import { clientMessageParam } from '../../../src/proxy/clientParam.js';
import type { ChatMessage } from '../../../src/schemas/openai.js';

const msg = (role: ChatMessage['role'], content: string): ChatMessage => ({ role, content });

describe('clientMessageParam: an upstream param naming a message, by the client\'s index', () => {
  it('skips the demo turns inserted after the system text (and the app\'s later system message)', () => {
    const own = [msg('system', 'app'), msg('system', 'passages'), msg('user', 'q')];
    const sent = [msg('system', 'candidate'), msg('system', 'passages'), msg('user', 'demo q'), msg('assistant', 'demo a'), msg('user', 'q')];
    expect(clientMessageParam('messages[4].content', sent, own)).toBe('messages[2].content');
    expect(clientMessageParam('messages.1', sent, own)).toBe('messages.1');
    expect(clientMessageParam('messages[0].content', sent, own)).toBe('messages[0].content'); // the client's system message, its text replaced
    expect(clientMessageParam('messages[2].content', sent, own)).toBeUndefined();
    expect(clientMessageParam('messages[3]', sent, own)).toBeUndefined();
  });

  it('leaves a param alone where nothing was added, or that names no message', () => {
    const own = [msg('system', 'app'), msg('user', 'q')];
    expect(clientMessageParam('messages[1].content', [msg('system', 'candidate'), msg('user', 'q')], own)).toBe('messages[1].content');
    expect(clientMessageParam('temperature', [msg('system', 'c'), msg('user', 'd'), msg('assistant', 'e'), msg('user', 'q')], own)).toBe('temperature');
  });
});
