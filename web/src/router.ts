/** Hash routes: the server serves one page, and the key never appears in a URL. */
export type Route =
  | { name: 'jobs' }
  | { name: 'job'; jobId: string }
  | { name: 'rollout'; jobId: string; rolloutId: string }
  | { name: 'signin' };

export function parseRoute(hash: string): Route {
  const path = hash.replace(/^#/, '');
  if (path === '/sign-in') return { name: 'signin' };
  try {
    const rollout = /^\/jobs\/([^/?#]+)\/rollouts\/([^/?#]+)\/?$/.exec(path);
    if (rollout?.[1] && rollout[2]) return { name: 'rollout', jobId: decodeURIComponent(rollout[1]), rolloutId: decodeURIComponent(rollout[2]) };
    const job = /^\/jobs\/([^/?#]+)\/?$/.exec(path);
    if (job?.[1]) return { name: 'job', jobId: decodeURIComponent(job[1]) };
  } catch {
    // A malformed escape (%zz): no page of ours has that address.
  }
  return { name: 'jobs' };
}

export const jobHref = (jobId: string): string => `#/jobs/${encodeURIComponent(jobId)}`;

export const rolloutHref = (jobId: string, rolloutId: string): string => `${jobHref(jobId)}/rollouts/${encodeURIComponent(rolloutId)}`;
