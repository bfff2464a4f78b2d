import { describe, expect, it } from 'vitest';
import { optionalPlaceholders } from '../../../src/schemas/wildcards.js';

const main = { name: 'main', template: 'Hint: {hint}\nCustomer: {customer}' };

/**
 * optionalPlaceholders runs on every proxied call (programRouting.ts): it reads the job's stored
 * wildcards, which change only when the job's config is read again, so the answer is worked out once
 * per config and not rebuilt (entries, filter, a Set) for every call.
 */
describe('optionalPlaceholders', () => {
  it('reads OPTIONAL in any case, only for module main of an initial_prompt job', () => {
    const config = { initial_prompt: { wildcards: { hint: 'optional', customer: 'REQUIRED', other: 'foo' } } };
    expect([...optionalPlaceholders(config, main)]).toEqual(['hint']);
    expect(optionalPlaceholders(config, { ...main, name: 'answer' }).size).toBe(0);
    expect(optionalPlaceholders(config, { ...main, origin: 'discovered' }).size).toBe(0);
    expect(optionalPlaceholders({ ...config, modules: [] }, main).size).toBe(0);
    expect(optionalPlaceholders({}, main).size).toBe(0);
  });

  it('works the set out once per stored config, not on every call', () => {
    const config = { initial_prompt: { wildcards: { hint: 'OPTIONAL', customer: 'REQUIRED' } } };
    const first = optionalPlaceholders(config, main);
    expect(optionalPlaceholders(config, main)).toBe(first);
    // A config read again (another object) is read again.
    const reread = { initial_prompt: { wildcards: { customer: 'OPTIONAL' } } };
    expect([...optionalPlaceholders(reread, main)]).toEqual(['customer']);
  });
});
