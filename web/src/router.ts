/** Hash routes: the server serves one page, and the key never appears in a URL. */
export type Route =
  | { name: 'jobs' }
  /** `candidateId`: the page opens at that candidate's row of the leaderboard (a link from a rollout). */
  | { name: 'job'; jobId: string; candidateId?: string }
  | { name: 'rollout'; jobId: string; rolloutId: string }
  | { name: 'signin' };

export function parseRoute(hash: string): Route {
  const path = hash.replace(/^#/, '');
  if (path === '/sign-in') return { name: 'signin' };
  try {
    const rollout = /^\/jobs\/([^/?#]+)\/rollouts\/([^/?#]+)\/?$/.exec(path);
    if (rollout?.[1] && rollout[2]) return { name: 'rollout', jobId: decodeURIComponent(rollout[1]), rolloutId: decodeURIComponent(rollout[2]) };
    const candidate = /^\/jobs\/([^/?#]+)\/candidates\/([^/?#]+)\/?$/.exec(path);
    if (candidate?.[1] && candidate[2]) return { name: 'job', jobId: decodeURIComponent(candidate[1]), candidateId: decodeURIComponent(candidate[2]) };
    const job = /^\/jobs\/([^/?#]+)\/?$/.exec(path);
    if (job?.[1]) return { name: 'job', jobId: decodeURIComponent(job[1]) };
  } catch {
    // A malformed escape (%zz): no page of ours has that address.
  }
  return { name: 'jobs' };
}

export const jobHref = (jobId: string): string => `#/jobs/${encodeURIComponent(jobId)}`;

/**
 * A candidate's row on its job's page. The routes live in the hash, so a plain `#row-id` anchor would
 * be read as a route (and land on the jobs list): the candidate is a route of its own.
 */
export const candidateHref = (jobId: string, candidateId: string): string => `${jobHref(jobId)}/candidates/${encodeURIComponent(candidateId)}`;

export const rolloutHref = (jobId: string, rolloutId: string): string => `${jobHref(jobId)}/rollouts/${encodeURIComponent(rolloutId)}`;
