import { Ajv } from 'ajv';
import { describe, expect, it } from 'vitest';
import { createPolicySimulator } from '../../../src/providers/sim/index.js';
import { SchemaTooLargeError, schemaInstance } from '../../../src/providers/sim/schemaInstance.js';
import { StreamAccumulator } from '../../../src/providers/sse.js';

const ajv = new Ajv({ strict: false });

/** Schemas as tools and structured-output helpers send them (zod-to-json-schema, pydantic, hand-written). */
const SCHEMAS: Record<string, Record<string, unknown>> = {
  weather: { type: 'object', properties: { city: { type: 'string', minLength: 2 }, unit: { type: 'string', enum: ['c', 'f'] } }, required: ['city', 'unit'], additionalProperties: false },
  nested: {
    type: 'object', additionalProperties: false, required: ['items', 'total', 'when', 'note'],
    properties: {
      items: { type: 'array', minItems: 2, maxItems: 3, items: { $ref: '#/$defs/item' } },
      total: { type: 'integer', minimum: 5, maximum: 10, multipleOf: 5 },
      when: { type: 'string', format: 'date-time' },
      note: { anyOf: [{ type: 'null' }, { type: 'string', maxLength: 4 }] },
    },
    $defs: { item: { type: 'object', properties: { name: { type: 'string' }, qty: { type: 'number', exclusiveMinimum: 0 }, ok: { type: 'boolean' } }, required: ['name', 'qty', 'ok'] } },
  },
  combos: {
    allOf: [{ type: 'object', properties: { a: { const: 'x' } }, required: ['a'] }, { type: 'object', properties: { b: { type: ['integer', 'null'] } }, required: ['b'] }],
  },
  uniqueTags: { type: 'object', properties: { tags: { type: 'array', items: { type: 'string' }, minItems: 3, uniqueItems: true } }, required: ['tags'] },
};

describe('schemaInstance', () => {
  for (const [name, schema] of Object.entries(SCHEMAS)) {
    it(`builds a value that validates against the ${name} schema`, () => {
      const value = schemaInstance(schema, 'card_lost');
      expect(ajv.validate(schema, value), JSON.stringify(ajv.errors)).toBe(true);
    });
  }

  // Ajv's `required` accepts an inherited property, so the keys are checked themselves: the answer
  // goes to the client as JSON, where an inherited `toString` is no field at all.
  it('gives a required field named like an Object member (toString, constructor) a value of its own', () => {
    const schema = { type: 'object', properties: { label: { type: 'string' } }, required: ['label', 'toString', 'constructor', 'valueOf', 'hasOwnProperty'] };
    const value = JSON.parse(JSON.stringify(schemaInstance(schema, 'card_lost'))) as Record<string, unknown>;
    expect(Object.keys(value).sort()).toEqual(['constructor', 'hasOwnProperty', 'label', 'toString', 'valueOf']);
    expect(value.toString).toBe('card_lost');
  });
});

const policy = createPolicySimulator();
const query = 'Hi, I lost my card yesterday. Can you help?';
const tool = { type: 'function', function: { name: 'classify', description: 'Record the intent', parameters: { type: 'object', properties: { intent: { type: 'string' }, confidence: { type: 'number', minimum: 0, maximum: 1 } }, required: ['intent', 'confidence'], additionalProperties: false } } };

describe('the policy simulator answers in the shape asked for', () => {
  it('calls a tool with arguments valid for its schema, then answers in text once the tool result is back', async () => {
    const first = await policy.complete({ model: 'sim-policy', messages: [{ role: 'user', content: query }], tools: [tool] });
    const message = first.json.choices[0]!.message;
    expect(first.json.choices[0]!.finish_reason).toBe('tool_calls');
    expect(message.content).toBeNull();
    const call = message.tool_calls![0] as { id: string; function: { name: string; arguments: string } };
    expect(call.function.name).toBe('classify');
    expect(ajv.validate(tool.function.parameters, JSON.parse(call.function.arguments))).toBe(true);
    const second = await policy.complete({
      model: 'sim-policy', tools: [tool],
      messages: [{ role: 'user', content: query }, { role: 'assistant', content: null, tool_calls: [call] }, { role: 'tool', tool_call_id: call.id, content: 'recorded' }],
    });
    expect(second.json.choices[0]!.finish_reason).toBe('stop');
    expect(second.json.choices[0]!.message.content).toEqual(expect.any(String));
    const none = await policy.complete({ model: 'sim-policy', messages: [{ role: 'user', content: query }], tools: [tool], tool_choice: 'none' });
    expect(none.json.choices[0]!.message.tool_calls).toBeUndefined();
  });

  it('streams the tool call as chat-completions tool_call deltas', async () => {
    const res = await policy.stream({ model: 'sim-policy', messages: [{ role: 'user', content: query }], tools: [tool], stream: true });
    const acc = new StreamAccumulator();
    for await (const chunk of res.body) acc.push(chunk);
    acc.end();
    const s = acc.summary();
    expect(s.finishReason).toBe('tool_calls');
    expect(s.toolCalls).toHaveLength(1);
    expect(ajv.validate(tool.function.parameters, JSON.parse(s.toolCalls[0]!.arguments))).toBe(true);
  });

  it('answers json_schema with JSON valid for the schema, carrying the simulated answer', async () => {
    const schema = SCHEMAS.nested!;
    const res = await policy.complete({ model: 'sim-policy', messages: [{ role: 'user', content: query }], response_format: { type: 'json_schema', json_schema: { name: 'out', schema, strict: true } } });
    const value = JSON.parse(res.json.choices[0]!.message.content!) as unknown;
    expect(ajv.validate(schema, value), JSON.stringify(ajv.errors)).toBe(true);
    // The same seed draws the same answer: the JSON carries exactly what the plain call says.
    const simple = await policy.complete({ model: 'sim-policy', seed: 7, messages: [{ role: 'system', content: 'Answer with the intent label only.' }, { role: 'user', content: query }], response_format: { type: 'json_schema', json_schema: { name: 'o', schema: { type: 'object', properties: { intent: { type: 'string' } }, required: ['intent'] } } } });
    const plain = await policy.complete({ model: 'sim-policy', seed: 7, messages: [{ role: 'system', content: 'Answer with the intent label only.' }, { role: 'user', content: query }] });
    expect(JSON.parse(simple.json.choices[0]!.message.content!)).toEqual({ intent: plain.json.choices[0]!.message.content });
  });
});

describe('schemas whose smallest instance is too large', () => {
  const fanOut = (k: number) => ({
    $defs: { node: { type: 'object', properties: Object.fromEntries(Array.from({ length: k }, (_, i) => [`p${i}`, { $ref: '#/$defs/node' }])) } },
    $ref: '#/$defs/node',
  });

  it('pads a long minLength in one step, as before', () => {
    const started = performance.now();
    // Padding an x at a time, counting code points each time, took ~5 s for 32,000.
    expect(schemaInstance({ type: 'string', minLength: 32_000 }, 'card_lost')).toBe(`card_lost${'x'.repeat(31_991)}`);
    expect(schemaInstance({ type: 'string', minLength: 4.5, maxLength: 2 }, '😀😀😀')).toBe('😀😀xxx');
    expect(performance.now() - started).toBeLessThan(1_000);
  });

  it('refuses them before building: huge minItems, minLength, or a $ref named by many properties', () => {
    const started = performance.now();
    expect(() => schemaInstance({ type: 'array', minItems: 1e9, items: { type: 'integer' } }, 'x')).toThrow(SchemaTooLargeError);
    expect(() => schemaInstance({ type: 'string', minLength: 1e9 }, 'x')).toThrow(SchemaTooLargeError);
    expect(() => schemaInstance({ type: 'string', minLength: Infinity }, 'x')).toThrow(SchemaTooLargeError);
    // 16^6 objects: 15 s and 180 MB of JSON on the old code.
    expect(() => schemaInstance(fanOut(16), 'x')).toThrow(SchemaTooLargeError);
    expect(performance.now() - started).toBeLessThan(1_000);
    expect(JSON.stringify(schemaInstance(fanOut(4), 'x')).length).toBeGreaterThan(10_000); // 4^6: still built
  });

  it('answers such a tool or response format with a 400 naming the field', async () => {
    const huge = { type: 'object', properties: { tags: { type: 'array', minItems: 1e9, items: { type: 'string' } } } };
    const big = { type: 'function', function: { name: 'tag', parameters: huge } };
    await expect(policy.complete({ model: 'sim-policy', messages: [{ role: 'user', content: query }], tools: [tool, big], tool_choice: { type: 'function', function: { name: 'tag' } } }))
      .rejects.toMatchObject({ status: 400, upstreamStatus: 400, upstreamParam: 'tools[1].function.parameters' });
    await expect(policy.stream({ model: 'sim-policy', messages: [{ role: 'user', content: query }], stream: true, response_format: { type: 'json_schema', json_schema: { name: 'x', schema: huge } } }))
      .rejects.toMatchObject({ status: 400, upstreamParam: 'response_format.json_schema.schema' });
  });
});
