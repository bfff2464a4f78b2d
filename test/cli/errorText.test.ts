import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/childServer.js';
import { type ScriptedServer, startScriptedServer } from '../sdk/helpers.js';

/**
 * An error message quotes what the server answered when it is not miprox's JSON (`HTTP 502: <body>`);
 * printed raw, a server at --url (a proxy page, anything) put escape sequences on the terminal.
 */
describe('client commands: error text from a server', () => {
  let server: ScriptedServer;
  beforeAll(async () => {
    server = await startScriptedServer([{ status: 404, body: 'not here \u001b[2J\u001b]52;c;ZXZpbA==\u0007 \u009b31m' }]);
  });
  afterAll(async () => server.close());

  it('shows its control characters as U+FFFD', async () => {
    const res = await runCli(['jobs', 'list', '--url', server.url, '--api-key', 'mpx_x'], {});
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(/^miprox: /);
    expect(res.stderr).toContain('not here \ufffd[2J\ufffd]52;c;ZXZpbA==\ufffd \ufffd31m');
    expect(res.stderr).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/);
  });

  /** What HAProxy answers while no instance is up: its markup and newlines were the message. */
  it('gives the words of an HTML error page, and says it is not miprox\'s answer', async () => {
    const page = '<html><body><h1>503 Service Unavailable</h1>\nNo server is available to handle this request.\n</body></html>\n';
    const balancer = await startScriptedServer([{ status: 503, body: page, headers: { 'content-type': 'text/html' } }]);
    try {
      const res = await runCli(['jobs', 'list', '--url', balancer.url, '--api-key', 'mpx_x', '--json'], {});
      expect(res.code).toBe(1);
      expect(JSON.parse(res.stderr).error.message).toBe(
        'HTTP 503, an HTML page (a balancer or proxy in front of miprox, or no miprox at this URL): 503 Service Unavailable No server is available to handle this request. (503 http_503)',
      );
    } finally {
      await balancer.close();
    }
  });
});
