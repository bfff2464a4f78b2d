import { describe, expect, it } from 'vitest';
import { servedSystemText } from '../../../src/api/servedSystemText.js';
import { compileModules } from '../../../src/optimizer/core/modules.js';
import type { ModuleRecord } from '../../../src/store/types.js';

const MODULES: ModuleRecord[] = [
  { name: 'extract', template: 'Extract the entities.', ordinal: 0, origin: 'declared' },
  { name: 'answer', template: 'Answer from this context:\n{context}', ordinal: 1, origin: 'declared' },
];
const PROGRAM = compileModules(MODULES);

/**
 * The rollout view's `system_prompt`: the text the proxy served a call, rebuilt from the candidate's
 * module text and the call's recorded variables. RETENTION_DAYS clears those variables (the call's
 * texts): the text then is not known, and must not be shown with its placeholders as if sent so.
 */
describe('servedSystemText', () => {
  it('renders a templated module with the call\'s variables', () => {
    expect(servedSystemText({}, PROGRAM, 'answer', { context: 'It is 330 m tall.' })).toBe('Answer from this context:\nIt is 330 m tall.');
    expect(servedSystemText({ answer: 'Use only:\n{context}\nCite it.' }, PROGRAM, 'answer', { context: 'X' })).toBe('Use only:\nX\nCite it.');
  });

  it('is null for a templated module\'s call whose variables were cleared, not the template as if it had been sent', () => {
    expect(servedSystemText({}, PROGRAM, 'answer', null)).toBeNull();
    expect(servedSystemText({ answer: 'Use only:\n{context}' }, PROGRAM, 'answer', null)).toBeNull();
  });

  it('still knows a text that uses none of the module\'s placeholders once the variables are cleared', () => {
    expect(servedSystemText({}, PROGRAM, 'extract', null)).toBe('Extract the entities.');
    // A candidate text without the placeholder; another {word} in it was sent literally.
    expect(servedSystemText({ answer: 'Answer in {n} words.' }, PROGRAM, 'answer', null)).toBe('Answer in {n} words.');
  });
});
