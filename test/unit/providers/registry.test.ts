import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config/config.js';
import { OpenAICompatibleProvider } from '../../../src/providers/openaiCompatible.js';
import { AnthropicProvider } from '../../../src/providers/anthropic.js';
import { createProviderRegistry, missingKeyFor } from '../../../src/providers/registry.js';
import type { ChatProvider, ProviderTarget } from '../../../src/providers/types.js';
import { upstreamFailure } from '../../helpers/upstreamFailure.js';
import { waitFor } from '../../helpers/waitFor.js';
import { startFakeUpstream } from '../../fakes/fakeUpstream.js';
import { createSimProvider } from '../../../src/providers/sim/index.js';

const configWith = (env: Record<string, string>) => loadConfig(env).providers;
const msg = [{ role: 'user', content: 'hi' }];


describe('createProviderRegistry', () => {
  it('shares one provider per upstream, whatever the model', async () => {
    const reg = createProviderRegistry(configWith({ OPENAI_API_KEY: 'sk-test-1234', ANTHROPIC_API_KEY: 'ak-test-1234' }));
    const a = reg.get({ provider: 'openai', model: 'gpt-4o-mini' });
    expect(a).toBeInstanceOf(OpenAICompatibleProvider);
    expect(a.kind).toBe('openai');
    expect(reg.get({ provider: 'openai', model: 'gpt-4.1' })).toBe(a);
    const c = reg.get({ provider: 'anthropic', model: 'claude-haiku-4-5' });
    expect(c).toBeInstanceOf(AnthropicProvider);
    expect(reg.get({ provider: 'anthropic', model: 'claude-sonnet-4-5' })).toBe(c);
    await reg.close();
  });

  it('keys openai_compatible providers by inference URL (trailing slash ignored)', async () => {
    const reg = createProviderRegistry(configWith({}));
    const t = (url: string): ProviderTarget => ({ provider: 'openai_compatible', model: 'llama', inferenceUrl: url });
    const a = reg.get(t('https://llm-a.example.com/v1'));
    expect(a.kind).toBe('openai_compatible');
    expect(reg.get(t('https://llm-a.example.com/v1/'))).toBe(a);
    expect(reg.get(t('https://llm-b.example.com/v1'))).not.toBe(a);
    await reg.close();
  });

  it('fails calls clearly when OPENAI_API_KEY is missing, and says so up front', async () => {
    const config = configWith({});
    const reg = createProviderRegistry(config);
    const target: ProviderTarget = { provider: 'openai', model: 'gpt-4o-mini' };
    expect(reg.missingKeyFor(target)).toMatch(/OPENAI_API_KEY is not set on the miprox server/);
    expect(missingKeyFor(config, { provider: 'anthropic', model: 'c' })).toMatch(/ANTHROPIC_API_KEY/);
    expect(missingKeyFor(config, { provider: 'openai_compatible', model: 'c', inferenceUrl: 'https://x.example.com' })).toBeUndefined();
    const e = await upstreamFailure(reg.get(target).complete({ model: 'gpt-4o-mini', messages: msg }));
    expect(e.status).toBe(502);
    expect(e.message).toMatch(/OPENAI_API_KEY is not set/);
    await upstreamFailure(reg.get(target).stream({ model: 'gpt-4o-mini', messages: msg }));
    expect(missingKeyFor(configWith({ OPENAI_API_KEY: 'sk-x-1234' }), target)).toBeUndefined();
  });

  it('refuses a private inference URL unless the operator allowed it', async () => {
    const target: ProviderTarget = { provider: 'openai_compatible', model: 'llama', inferenceUrl: 'http://127.0.0.1:8000/v1' };
    const refused = createProviderRegistry(configWith({}));
    const e = await upstreamFailure(refused.get(target).complete({ model: 'llama', messages: msg }));
    expect(e.status).toBe(502);
    expect(e.message).toMatch(/inference_url .*loopback/);
    const allowed = createProviderRegistry(configWith({ MIPROX_ALLOWED_INFERENCE_HOSTS: '127.0.0.1:8000' }));
    expect(allowed.get(target)).toBeInstanceOf(OpenAICompatibleProvider);
    await allowed.close();
    const missing = await upstreamFailure(refused.get({ provider: 'openai_compatible', model: 'x' }).complete({ messages: msg }));
    expect(missing.message).toMatch(/inference_url is required/);
  });

  it('builds sim providers with the given factory, per model, and closes them', async () => {
    const built: string[] = [];
    let closed = 0;
    const sim = (target: ProviderTarget): ChatProvider => {
      built.push(target.model);
      return {
        kind: 'sim',
        complete: () => Promise.reject(new Error('unused')),
        stream: () => Promise.reject(new Error('unused')),
        close: async () => {
          closed++;
        },
      };
    };
    const reg = createProviderRegistry(configWith({}), { sim });
    const a = reg.get({ provider: 'sim', model: 'sim-a' });
    expect(reg.get({ provider: 'sim', model: 'sim-a' })).toBe(a);
    reg.get({ provider: 'sim', model: 'sim-b' });
    expect(built).toEqual(['sim-a', 'sim-b']);
    await reg.close();
    expect(closed).toBe(2);

    const noSim = createProviderRegistry(configWith({}));
    const e = await upstreamFailure(noSim.get({ provider: 'sim', model: 'x' }).complete({ messages: msg }));
    expect(e.message).toMatch(/sim provider is not enabled/);
    expect(e.retryHeaders).toEqual({ 'x-should-retry': 'false' }); // every retry would meet the same refusal
  });

  /**
   * Jobs choose their upstream: every distinct inference URL or sim model name kept a provider (its
   * connection pool, its keep-alive sockets) for the server's whole life, about 30 KB and a socket per
   * URL, 60 KB per sim model. Now the least recently used are closed past a bound, and a call that
   * holds a retired provider still finishes.
   */
  it('keeps a bounded number of providers, closing retired ones after the calls that hold them', async () => {
    const fake = await startFakeUpstream({ reply: 'one two three', chunks: 3, chunkDelayMs: 50, record: false });
    const reg = createProviderRegistry(configWith({ MIPROX_ALLOWED_INFERENCE_HOSTS: `127.0.0.1:${fake.port}` }), {
      sim: (t) => createSimProvider(t), cache: { maxProviders: 4, retireAfterMs: 0 },
    });
    try {
      for (let i = 0; i < 20; i++) {
        const model = `sim-policy-${i}`;
        await reg.get({ provider: 'sim', model }).complete({ model, messages: [{ role: 'user', content: 'I lost my card' }] });
      }
      expect(reg.size).toBe(4);

      const url = (i: number) => ({ provider: 'openai_compatible' as const, model: 'm', inferenceUrl: `${fake.url}/t${i}` });
      // A stream opened on the first URL's provider, which the next ones retire before it is read.
      const held = await reg.get(url(0)).stream({ model: 'm', messages: msg });
      for (let i = 1; i <= 12; i++) {
        const res = await reg.get(url(i)).complete({ model: 'm', messages: msg });
        expect(res.json.choices[0]?.message.content).toBe('one two three');
      }
      expect(reg.size).toBe(4);
      let sse = '';
      for await (const chunk of held.body) sse += Buffer.from(chunk).toString('utf8');
      expect(sse.trim().endsWith('data: [DONE]')).toBe(true);
      // Retired pools close their keep-alive sockets: one per provider still held is left.
      await waitFor(async () => fake.stats.openConnections <= 4);
      expect(fake.stats.connections).toBe(13);
    } finally {
      await reg.close();
      await fake.close();
    }
  });
});
