import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiClient, ApiError } from '../../web/src/api.js';

/**
 * The dashboard's requests end: a server that takes the connection and never answers (or stops in
 * the middle of its body) is an ApiError the pages show and retry, not a promise that never settles
 * (sign-in stuck at "Checking…", the job page saying "Live" at an old time with no error).
 */
describe('dashboard API client: a server that never answers', () => {
  let server: Server;
  let base = '';

  beforeAll(async () => {
    server = createServer((req, res) => {
      if (req.url?.startsWith('/api/policy-optimization/online/jobs/half')) {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.write('{"job_id": "half", ');
        return; // and nothing more
      }
      // No answer at all.
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  const client = () => new ApiClient('mpx_test', (input, init) => fetch(`${base}${String(input)}`, init), 300);

  it('gives up on an answer that never comes, with an error that says so', async () => {
    const started = Date.now();
    const err = await client().listJobs().then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect(err).toMatchObject({ status: 0, code: 'timeout', message: 'the miprox server did not answer within 0.3 s' });
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('gives up on a body that stops arriving', async () => {
    const err = await client().getJob('half').then(() => undefined, (e: unknown) => e);
    expect(err).toMatchObject({ status: 0, code: 'timeout' });
  });
});
