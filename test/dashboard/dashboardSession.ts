import type { Browser, BrowserContextOptions } from 'playwright-core';
import { openWatchedPage, signIn, type WatchedPage } from './browser.js';
import type { DashboardTestServer } from './dashboardServer.js';

/**
 * A browser session on a dashboard test server, as the e2e suites' beforeAll and afterAll open and
 * close it. Each suite still waits for what it needs on the page itself: that wait is part of its test.
 */

/** A watched page signed in with the server's key, on the jobs list: where most suites start. */
export async function openSignedInPage(s: DashboardTestServer, contextOptions?: BrowserContextOptions): Promise<WatchedPage> {
  const watched = await openWatchedPage(contextOptions);
  await closeOnFailure(watched.browser, signIn(watched.page, s.url, s.t.key));
  return watched;
}

/** A signed-in watched page navigated to job `jobId`'s page: where the suites about one job start. */
export async function openJobPage(s: DashboardTestServer, jobId: string, contextOptions?: BrowserContextOptions): Promise<WatchedPage> {
  const watched = await openSignedInPage(s, contextOptions);
  await closeOnFailure(watched.browser, watched.page.goto(`${s.url}/#/jobs/${jobId}`));
  return watched;
}

/** Closes the browser when `step` fails: the suite never got hold of it to close it in its afterAll. */
async function closeOnFailure(browser: Browser, step: Promise<unknown>): Promise<void> {
  try {
    await step;
  } catch (err) {
    await browser.close();
    throw err;
  }
}

/** Every suite's afterAll: the browser, then the server; either is unset when beforeAll failed first. */
export async function closeBrowserAndServer(browser: Browser | undefined, s: DashboardTestServer | undefined): Promise<void> {
  await browser?.close();
  await s?.close();
}
