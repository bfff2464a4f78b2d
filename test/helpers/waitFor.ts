/**
 * Polls until `done` holds, every 20 ms (records written after the answer was sent, such as a
 * rollout's call record, land a moment later). Throws after `timeoutMs`.
 */
export async function waitFor(done: () => Promise<boolean>, timeoutMs = 5_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await done())) {
    if (Date.now() > until) throw new Error(`timed out after ${timeoutMs} ms waiting for a condition`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
