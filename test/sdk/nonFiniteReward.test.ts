import { describe, expect, it } from 'vitest';
import { MiproOnlineSession, ValidationError, collect } from '../../src/sdk/index.js';
import type { TestServer } from '../helpers/server.js';
import { useTestServer } from '../helpers/useTestServer.js';
import { simJobBody } from './helpers.js';

/**
 * JSON.stringify sends NaN and Infinity as `null`. A reward whose score was computed as 0/0 reached
 * the server as `score: null`, i.e. no score, and the server inferred one from metadata.expected and
 * metadata.predicted: a reward of 1 the app never gave, kept for good (the first reward wins). The
 * SDK now refuses such a body before sending it, naming the field, and nothing is recorded.
 */
describe('SDK: a non-finite number in a request body', () => {
  let t: TestServer;
  useTestServer({}, (s) => (t = s));

  it('is refused before anything is sent, naming its field', async () => {
    const session = await MiproOnlineSession.create({ backendUrl: t.url, apiKey: t.key, config: simJobBody() });
    const call = await fetch(`${session.rolloutBaseUrl('r1')}/chat/completions`, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'any', messages: [{ role: 'user', content: 'I lost my card' }] }),
    });
    expect(call.status).toBe(200);

    const nan = await session.updateReward({ rolloutId: 'r1', rewardInfo: { score: 0 / 0 }, metadata: { expected: 'card_lost', predicted: 'card_lost' } }).catch((e: unknown) => e);
    expect(nan).toBeInstanceOf(ValidationError);
    expect((nan as ValidationError).code).toBe('invalid_request_body');
    expect((nan as ValidationError).details).toEqual([{ path: 'reward_info.score', message: expect.stringMatching(/^is NaN, which JSON does not have/) }]);
    const inf = await session.updateReward({ rolloutId: 'r1', rewardInfo: { score: 0.5 }, metadata: { ratios: [1, Number.POSITIVE_INFINITY] } }).catch((e: unknown) => e);
    expect((inf as ValidationError).details.map((d) => d.path)).toEqual(['metadata.ratios.1']);
    expect(await collect(session.iterateRewards())).toEqual([]);

    // A finite score goes through as before, and is the rollout's first reward.
    const ok = await session.updateReward({ rolloutId: 'r1', rewardInfo: { score: 0.25 }, metadata: { expected: 'card_lost', predicted: 'card_lost', at: new Date(0) } });
    expect([ok.reward, ok.duplicate]).toEqual([0.25, false]);
  });
});
