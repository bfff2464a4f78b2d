/** Hash routes: the server serves one page, and the key never appears in a URL. */
export type Route = { name: 'jobs' } | { name: 'job'; jobId: string } | { name: 'signin' };

export function parseRoute(hash: string): Route {
  const path = hash.replace(/^#/, '');
  if (path === '/sign-in') return { name: 'signin' };
  const m = /^\/jobs\/([^/?#]+)\/?$/.exec(path);
  if (m?.[1]) {
    try {
      return { name: 'job', jobId: decodeURIComponent(m[1]) };
    } catch {
      return { name: 'jobs' };
    }
  }
  return { name: 'jobs' };
}
