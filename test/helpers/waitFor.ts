/**
 * Polls until `done` holds, every 20 ms (records written after the answer was sent, such as a
 * rollout's call record, land a moment later). Throws after `timeoutMs`: generous by default, since
 * what takes 0.5 s on a quiet machine took over ten times that on a busy 2-core one.
 */
export async function waitFor(done: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await done())) {
    if (Date.now() > until) throw new Error(`timed out after ${timeoutMs} ms waiting for a condition`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
