import { describe, expect, it } from 'vitest';
import { ApiClient, MAX_TAGGED_ANSWERS } from '../../web/src/api.js';

/**
 * The dashboard's client sends back the ETag of the last answer of a GET (the job view, polled every
 * 2 s) as If-None-Match, and reads a 304 as that answer again: the server sends no body for an
 * unchanged view. Kept in the client, not the browser's cache (`cache: 'no-store'` stays).
 */
describe('dashboard API client: conditional GETs', () => {
  function server() {
    const seen: Array<{ url: string; ifNoneMatch: string | null; cache: RequestCache | undefined }> = [];
    let version = 1;
    const fetchImpl = async (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
      const headers = new Headers(init?.headers);
      const url = String(input);
      seen.push({ url, ifNoneMatch: headers.get('if-none-match'), cache: init?.cache });
      const etag = `W/"v${version}-${url}"`;
      if (url.includes('/events')) return new Response(JSON.stringify({ events: [], next_seq: 0 }), { status: 200 });
      if (headers.get('if-none-match') === etag) return new Response(null, { status: 304, headers: { etag } });
      return new Response(JSON.stringify({ job_id: url.split('/').pop(), version }), { status: 200, headers: { etag } });
    };
    return { seen, fetchImpl, change: () => { version++; } };
  }

  it('revalidates with the tag it was given and reads a 304 as the answer it holds', async () => {
    const s = server();
    const client = new ApiClient('mpx_test', s.fetchImpl);
    expect(await client.getJob('pl_a')).toEqual({ job_id: 'pl_a', version: 1 });
    expect(await client.getJob('pl_a')).toEqual({ job_id: 'pl_a', version: 1 });
    expect(s.seen.map((r) => r.ifNoneMatch)).toEqual([null, 'W/"v1-/api/policy-optimization/online/jobs/pl_a"']);
    expect(s.seen.every((r) => r.cache === 'no-store')).toBe(true);
    s.change();
    expect(await client.getJob('pl_a')).toEqual({ job_id: 'pl_a', version: 2 });
    expect(await client.getJob('pl_a')).toEqual({ job_id: 'pl_a', version: 2 });
    expect(s.seen.at(-1)?.ifNoneMatch).toBe('W/"v2-/api/policy-optimization/online/jobs/pl_a"');
  });

  it('sends no tag for answers that had none, and keeps a bounded number of answers', async () => {
    const s = server();
    const client = new ApiClient('mpx_test', s.fetchImpl);
    await client.events('sys_a', 0, 10);
    await client.events('sys_a', 0, 10);
    expect(s.seen.map((r) => r.ifNoneMatch)).toEqual([null, null]);
    for (let i = 0; i <= MAX_TAGGED_ANSWERS; i++) await client.getJob(`pl_${i}`);
    s.seen.length = 0;
    await client.getJob('pl_0'); // the oldest, dropped
    await client.getJob(`pl_${MAX_TAGGED_ANSWERS}`);
    expect(s.seen.map((r) => r.ifNoneMatch === null)).toEqual([true, false]);
  });
});
