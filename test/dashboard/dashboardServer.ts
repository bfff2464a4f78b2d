import type { StartOptions } from '../../src/main.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

/** A real miprox test server; the dashboard is served by the server itself at `/`. */
export interface DashboardTestServer {
  t: TestServer;
  url: string;
  close(): Promise<void>;
}

/** `env`: extra configuration, e.g. OPENAI_BASE_URL for a fake upstream. */
export async function startDashboardTestServer(start?: StartOptions, env?: Record<string, string>): Promise<DashboardTestServer> {
  const t = await startTestServer({ ...(start ? { start } : {}), ...(env ? { env } : {}) });
  const probe = await fetch(`${t.url}/`);
  if (!(probe.headers.get('content-type') ?? '').startsWith('text/html')) {
    await t.close();
    throw new Error('the server does not serve the dashboard at /');
  }
  return { t, url: t.url, close: () => t.close() };
}
