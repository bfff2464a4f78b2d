import { afterAll, beforeAll } from 'vitest';
import { startTestServer, type TestServer } from './server.js';

/**
 * One test server for a describe block, the setup most suites need: started before its tests, closed
 * after them, handed to `ready` so test bodies keep their own `t`:
 *
 *   let t: TestServer;
 *   useTestServer({ db }, (s) => (t = s));
 */
export function useTestServer(opts: Parameters<typeof startTestServer>[0], ready: (t: TestServer) => void): void {
  let t: TestServer | undefined;
  beforeAll(async () => {
    t = await startTestServer(opts);
    ready(t);
  });
  afterAll(async () => t?.close());
}
