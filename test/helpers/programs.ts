import type { MiproJobsClient } from '../../src/sdk/index.js';
import { newProposalId } from '../../src/shared/ids.js';
import type { Store } from '../../src/store/types.js';

/**
 * Adds one candidate program to a job as a finished proposal that changed `module` would (a child of
 * the baseline), straight through the store: for tests that need a known program.
 */
export async function addProgram(store: Store, jobId: string, id: string, instructions: Record<string, string>, module: string): Promise<void> {
  const now = new Date().toISOString();
  const lease = await store.startProposal({ jobId, id: newProposalId(), parentId: 'baseline', module, tip: 'none', prompt: [], leaseUntil: new Date(Date.now() + 60_000).toISOString(), now });
  if (!lease) throw new Error(`job ${jobId} already has a running proposal`);
  await store.finishProposal({
    jobId, id: lease.id, status: 'succeeded', response: null, error: null, events: [],
    candidates: [{ id, parentId: 'baseline', instruction: instructions[module] ?? '', module, instructions, tip: 'none', proposalId: lease.id }],
  });
}

/**
 * Two discovering jobs that see the same two prompts in opposite orders, so `m1` of the first is `m2`
 * of the second (discovered names say only the order a job first saw a prompt); and an improvement of
 * the first job's classify prompt, added as a candidate there.
 */
export async function mirroredDiscovery(jobs: MiproJobsClient, body: Record<string, unknown>): Promise<{ first: string; next: string; better: string; candidateId: string }> {
  const call = (proxy: string, system: string) => fetch(`${proxy}/chat/completions`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ messages: [{ role: 'system', content: system }, { role: 'user', content: 'q' }] }),
  }).then((r) => r.text());
  const first = await jobs.create(body);
  const next = await jobs.create(body);
  for (const system of ['Classify the query.', 'Answer the query.']) await call(first.proxy_url, system);
  for (const system of ['Answer the query.', 'Classify the query.']) await call(next.proxy_url, system);
  const better = 'Classify the query into one intent label.';
  const added = await (await jobs.session(first.job_id)).addCandidate({ module: 'm1', instruction: better });
  return { first: first.job_id, next: next.job_id, better, candidateId: added.candidate_id };
}
