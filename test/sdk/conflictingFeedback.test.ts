import { describe, expect, it } from 'vitest';
import { MiproOnlineSession, ValidationError, collect } from '../../src/sdk/index.js';
import type { TestServer } from '../helpers/server.js';
import { useTestServer } from '../helpers/useTestServer.js';
import { simJobBody } from './helpers.js';

/**
 * updateReward takes the feedback texts two ways: inside `rewardInfo` (the wire spelling) and as the
 * top-level `feedback` / `feedbackByModule`. Given both with different values, the top-level one used
 * to win silently. Now a conflicting pair is refused before anything is sent; the same value twice, or
 * one way only, is sent as before.
 */
describe('SDK: updateReward with feedback given twice', () => {
  let t: TestServer;
  useTestServer({}, (s) => (t = s));

  it('refuses different values before sending, and accepts the same value twice', async () => {
    const session = await MiproOnlineSession.create({ backendUrl: t.url, apiKey: t.key, config: simJobBody() });
    for (const id of ['r1', 'r2']) {
      const call = await fetch(`${session.rolloutBaseUrl(id)}/chat/completions`, {
        method: 'POST', headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'any', messages: [{ role: 'user', content: 'I lost my card' }] }),
      });
      expect(call.status).toBe(200);
    }

    const text = await session.updateReward({ rolloutId: 'r1', rewardInfo: { score: 0, feedback: 'wrong label' }, feedback: 'right label' }).catch((e: unknown) => e);
    expect(text).toBeInstanceOf(ValidationError);
    expect((text as ValidationError).code).toBe('conflicting_feedback');
    expect((text as ValidationError).details.map((d) => d.path)).toEqual(['feedback']);

    const modules = await session.updateReward({
      rolloutId: 'r1', rewardInfo: { score: 0, feedback_by_module: { answer: 'a' } }, feedbackByModule: { answer: 'b' },
    }).catch((e: unknown) => e);
    expect(modules).toBeInstanceOf(ValidationError);
    expect((modules as ValidationError).details.map((d) => d.path)).toEqual(['feedbackByModule']);
    expect(await collect(session.iterateRewards())).toEqual([]);

    // The same value both ways (key order aside) goes through, as does one way only.
    const same = await session.updateReward({
      rolloutId: 'r1', rewardInfo: { score: 0, feedback: 'wrong label', feedback_by_module: { answer: 'a', classify: 'c' } },
      feedback: 'wrong label', feedbackByModule: { classify: 'c', answer: 'a' },
    });
    expect([same.reward, same.duplicate]).toEqual([0, false]);
    await session.updateReward({ rolloutId: 'r2', rewardInfo: { score: 1 }, feedback: 'good' });
    const rewards = await collect(session.iterateRewards());
    // (This job discovers its modules, so the module texts are appended to `feedback` as lines.)
    expect(rewards.map((r) => [r.rollout_id, r.feedback?.split('\n')[0]])).toEqual([['r1', 'wrong label'], ['r2', 'good']]);
  });
});
