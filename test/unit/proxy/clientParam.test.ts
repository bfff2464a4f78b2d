import { describe, expect, it } from 'vitest';
import { clientInputParam, clientMessageParam } from '../../../src/proxy/clientParam.js';
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

describe('clientInputParam: an upstream param naming a Responses input item, by the client\'s index', () => {
  it('moves items after the inserted demo turns back, and names none of the turns', () => {
    const shift = { at: 1, count: 2, wasString: false }; // one developer item, then two demo turns
    expect(clientInputParam('input[0].content', shift)).toBe('input[0].content');
    expect(clientInputParam('input[1]', shift)).toBeUndefined();
    expect(clientInputParam('input[2].content', shift)).toBeUndefined();
    expect(clientInputParam('input[3].content[0].text', shift)).toBe('input[1].content[0].text');
    expect(clientInputParam('input.4', shift)).toBe('input.2');
  });

  it('names a string input as input, and leaves a param alone where nothing was inserted', () => {
    expect(clientInputParam('input[2].content', { at: 0, count: 2, wasString: true })).toBe('input');
    expect(clientInputParam('input[3].content', null)).toBe('input[3].content');
    expect(clientInputParam('instructions', { at: 0, count: 2, wasString: false })).toBe('instructions');
  });
});
