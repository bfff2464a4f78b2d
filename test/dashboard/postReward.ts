import { expect } from 'vitest';
import { api } from '../helpers/server.js';
import type { DashboardTestServer } from './dashboardServer.js';

/** Reports one reward by hand and expects it counted: the suites that shape a job's rewards exactly, without traffic. */
export async function postReward(s: DashboardTestServer, systemId: string, reward: { rolloutId: string; candidateId: string; score: number }): Promise<void> {
  const res = await api(s.url, 'POST', `/api/v1/online/sessions/${systemId}/reward`, {
    key: s.t.key, body: { rollout_id: reward.rolloutId, candidate_id: reward.candidateId, reward_info: { score: reward.score } },
  });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
}
