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
});
