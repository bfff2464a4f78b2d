import type { Demo } from '../../src/optimizer/core/demos.js';
import type { MiproJobsClient } from '../../src/sdk/index.js';
import { addModuleCandidates, pipelineCalls, pipelineJobBody } from '../helpers/server.js';
import type { DashboardTestServer } from './dashboardServer.js';

/**
 * The job the screen-width suites (phone, mid width) lay out, built the same for both: the named
 * two-module pipeline with candidates cand_answer_quote (answer) and cand_extract_lines (extract,
 * carrying `demo`), and nine rollouts through the proxy, rewarded 0 one time in three. Its id.
 */
export async function createSupportPipelineJob(s: DashboardTestServer, jobs: MiproJobsClient, demo: Demo): Promise<string> {
  const jobId = (await jobs.create({ ...pipelineJobBody({ online_proposer_min_rollouts: 1000 }), name: 'Support pipeline: extract, then answer from the context' })).job_id;
  await addModuleCandidates(s.t.server.store, jobId, 'answer', { cand_answer_quote: 'Answer only from this context, and quote it:\n{context}' });
  await addModuleCandidates(s.t.server.store, jobId, 'extract', { cand_extract_lines: 'Extract every named entity, one per line.' }, { cand_extract_lines: [demo] });
  const session = await jobs.session(jobId);
  for (let i = 0; i < 9; i++) {
    const rollout = await session.nextRollout();
    await pipelineCalls(rollout.chat_completions_url, `Fact ${i}: the Louvre is in Paris.`);
    await session.updateReward({ rolloutId: rollout.rollout_id, rewardInfo: { score: i % 3 === 0 ? 0 : 1 } });
  }
  return jobId;
}
