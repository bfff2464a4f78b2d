import { describe, expect, it } from 'vitest';
import { assignModule, compileModules, discoveredModuleName, MAX_TEMPLATE_CHARS, mergeVariables } from '../../../src/optimizer/core/modules.js';
import { moduleInstruction, programOf, withModuleInstruction } from '../../../src/optimizer/core/program.js';
import { matchTemplate, parseTemplate, placeholderNames, renderTemplate, templateProblem } from '../../../src/optimizer/core/templates.js';

describe('templates', () => {
  it('captures placeholders and renders them back', () => {
    const t = parseTemplate('Answer from this context:\n{context}\nUser: {user_name}.');
    expect(placeholderNames(t)).toEqual(['context', 'user_name']);
    const captured = matchTemplate(t, 'Answer from this context:\nParis is in France.\nSecond line\nUser: Ada.');
    expect(captured).toEqual({ context: 'Paris is in France.\nSecond line', user_name: 'Ada' });
    expect(renderTemplate(t, captured ?? {})).toEqual({ text: 'Answer from this context:\nParis is in France.\nSecond line\nUser: Ada.' });
    expect(renderTemplate(t, { context: 'c' })).toEqual({ missing: ['user_name'] });
  });

  it('keeps JSON braces literal and matches literal-only templates exactly', () => {
    const t = parseTemplate('Reply as {"label": "<intent>"}.');
    expect(t.names).toEqual([]);
    expect(matchTemplate(t, 'Reply as {"label": "<intent>"}.')).toEqual({});
    expect(matchTemplate(t, 'Reply as {"label": "<intent>"}. ')).toBeNull();
  });

  it('treats placeholders named like object properties as plain names (constructor, toString, __proto__)', () => {
    const t = parseTemplate('Hi {constructor}, {toString} and {__proto__}; {valueOf} {valueOf}.');
    const captured = matchTemplate(t, 'Hi A, B and C; D D.');
    expect(captured).toEqual({ constructor: 'A', toString: 'B', ['__proto__']: 'C', valueOf: 'D' });
    expect(Object.getPrototypeOf(captured)).toBe(Object.prototype); // __proto__ is a key, not the prototype
    expect(renderTemplate(t, captured ?? {})).toEqual({ text: 'Hi A, B and C; D D.' });
    // Inherited functions are not values: every one is missing from an empty object.
    expect(renderTemplate(t, {})).toEqual({ missing: ['constructor', 'toString', '__proto__', 'valueOf'] });
  });

  it('refuses touching placeholders and checks that repeats agree', () => {
    expect(templateProblem(parseTemplate('{a}{b}'))).toMatch(/touch/);
    expect(templateProblem(parseTemplate('{a} {b}'))).toBeNull();
    const t = parseTemplate('{x} and {x}');
    expect(matchTemplate(t, 'a and a')).toEqual({ x: 'a' });
    expect(matchTemplate(t, 'a and b')).toBeNull();
  });

  it('finds a match whenever one exists (leftmost literals, last literal anchored at the end)', () => {
    const t = parseTemplate('{a}: {b}!');
    expect(matchTemplate(t, 'k: v: w!')).toEqual({ a: 'k', b: 'v: w' });
    expect(matchTemplate(t, 'no colon!')).toBeNull();
    expect(matchTemplate(parseTemplate('pre {x} post'), 'pre post')).toBeNull(); // literals may not overlap
  });

  it('matches a 1 MB adversarial system text against 16 templates in linear time', () => {
    // Long literals that almost match everywhere: a backtracking or quadratic search would not finish.
    const text = 'a'.repeat(1_000_000);
    const modules = compileModules(Array.from({ length: 16 }, (_, i) => ({
      name: `t${i}`, template: `${'a'.repeat(100 + i)}{x}${'a'.repeat(500)}b{y}${'a'.repeat(50)}`,
    })));
    const t0 = process.hrtime.bigint();
    const r = assignModule(modules, { named: null, systemText: text }, { canDiscover: false });
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    expect(r.kind).toBe('unmatched');
    // Generous bound on a shared machine: linear work here is ~16 passes over 1 MB (tens of ms);
    // quadratic work would be ~1e9 character comparisons per template.
    expect(ms).toBeLessThan(5_000);
  });
});

describe('module assignment', () => {
  const modules = compileModules([
    { name: 'extract', template: 'Extract the entities.' },
    { name: 'answer', template: 'Answer from this context:\n{context}' },
    { name: 'any', template: '{prompt}' },
  ]);

  it('names win, then the most specific template, then discovery or pass-through', () => {
    expect(assignModule(modules, { named: 'extract', systemText: 'whatever' }, { canDiscover: false })).toMatchObject({ kind: 'module', module: { name: 'extract' } });
    const answer = assignModule(modules, { named: null, systemText: 'Answer from this context:\nDocs' }, { canDiscover: false });
    expect(answer).toMatchObject({ kind: 'module', module: { name: 'answer' }, captures: { context: 'Docs' } });
    expect(assignModule(modules, { named: null, systemText: 'Something else' }, { canDiscover: false })).toMatchObject({ kind: 'module', module: { name: 'any' } });
    const two = modules.slice(0, 2);
    expect(assignModule(two, { named: null, systemText: 'Something else' }, { canDiscover: false })).toEqual({ kind: 'unmatched' });
    expect(assignModule(two, { named: null, systemText: 'Something else' }, { canDiscover: true })).toEqual({ kind: 'discover', name: null, template: 'Something else' });
    expect(assignModule(two, { named: 'nope', systemText: 'x' }, { canDiscover: false })).toEqual({ kind: 'unknown_name', name: 'nope' });
    // A system text longer than a template may be is never discovered (it would be copied into every view): it passes through.
    const huge = 'x'.repeat(MAX_TEMPLATE_CHARS + 1);
    expect(assignModule(two, { named: null, systemText: huge }, { canDiscover: true })).toEqual({ kind: 'unmatched' });
    expect(assignModule(two, { named: 'big', systemText: huge }, { canDiscover: true })).toEqual({ kind: 'unmatched' });
    expect(assignModule(two, { named: null, systemText: huge.slice(1) }, { canDiscover: true })).toMatchObject({ kind: 'discover' });
    expect(assignModule(two, { named: null, systemText: null }, { canDiscover: false })).toEqual({ kind: 'unmatched' });
    // One-prompt jobs: a call without a system message gets the instruction added, as the public API does.
    expect(assignModule(two.slice(0, 1), { named: null, systemText: null }, { canDiscover: false })).toMatchObject({ kind: 'module', module: { name: 'extract' } });
    expect(assignModule(two.slice(0, 1), { named: null, systemText: 'Other' }, { canDiscover: false })).toEqual({ kind: 'unmatched' });
  });

  it('names discovered modules m1, m2, ... and lets explicit variables win over captures', () => {
    expect(discoveredModuleName([])).toBe('m1');
    expect(discoveredModuleName([{ name: 'm1' }, { name: 'planner' }])).toBe('m2');
    expect(mergeVariables(['a', 'b'], { a: 'captured', b: 'b' }, { a: 'explicit' })).toEqual({ a: 'explicit', b: 'b' });
    // Only the template's placeholders; values well-formed; a placeholder named like an Object member is a plain key.
    expect(mergeVariables(['a'], {}, { a: 'cut \ud83d', other: 'x' })).toEqual({ a: 'cut \ufffd' });
    const odd = mergeVariables(['__proto__'], { __proto__: 'v' } as Record<string, string>, undefined);
    expect(Object.keys(odd)).toEqual([]); // a literal `__proto__:` sets the prototype: no own capture
    const own = mergeVariables(['__proto__'], {}, JSON.parse('{"__proto__": "v"}') as Record<string, string>);
    expect(Object.getOwnPropertyDescriptor(own, '__proto__')?.value).toBe('v');
    expect(Object.getPrototypeOf(own)).toBe(Object.prototype);
  });
});

describe('programs', () => {
  const modules = [{ name: 'extract', template: 'E' }, { name: 'answer', template: 'A {c}' }];
  it('a candidate sets some modules; the rest keep their template; a child changes one', () => {
    expect(programOf({}, modules)).toEqual({ extract: 'E', answer: 'A {c}' });
    const child = withModuleInstruction({ extract: 'E2' }, 'answer', 'Better A {c}');
    expect(programOf(child, modules)).toEqual({ extract: 'E2', answer: 'Better A {c}' });
    expect(moduleInstruction({ constructor: 'x' }, { name: 'toString', template: 'T' })).toBe('T');
  });
});
