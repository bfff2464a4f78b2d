import type { RolloutCallRecord, Store } from '../../store/types.js';
import { selectReflectionRollouts, type ObservedRollout } from '../core/proposerPrompt.js';

/** Rollouts of the parent shown to the proposer (GEPA-style reflection): its worst and its best. */
export const REFLECTION = { worst: 3, best: 2 };
/** Rollouts read per side: more than shown, since some may not have called the module. */
const READ_PER_SIDE = 12;
/** Calls of one module within one rollout shown to the proposer. */
const CALLS_PER_ROLLOUT = 2;

/**
 * What the proposer sees of one module: the module's own calls (input, variables, output) in the
 * parent's worst and best rewarded rollouts, with each rollout's reward. Never val rollouts
 * (rewardedRollouts excludes them, selectReflectionRollouts checks again). Existing rollouts were
 * migrated to one call record each, so older jobs are grounded the same way.
 */
export async function moduleReflection(store: Store, jobId: string, parentId: string, module: string): Promise<{ worst: ObservedRollout[]; best: ObservedRollout[] }> {
  const [lowest, highest] = await Promise.all([
    store.rewardedRollouts(jobId, parentId, { order: 'worst', limit: READ_PER_SIDE }),
    store.rewardedRollouts(jobId, parentId, { order: 'best', limit: READ_PER_SIDE }),
  ]);
  // The two queries overlap when the parent has few rollouts; the core splits them into worst and best.
  const rollouts = [...new Map([...lowest, ...highest].map((r) => [r.id, r])).values()];
  const calls = await store.rolloutCalls(jobId, rollouts.map((r) => r.id));
  const byRollout = new Map<string, RolloutCallRecord[]>();
  for (const c of calls) if (c.module === module) byRollout.set(c.rolloutId, [...(byRollout.get(c.rolloutId) ?? []), c]);
  const observed = rollouts.flatMap((r) => {
    const own = byRollout.get(r.id);
    // Rollouts that never called this module say nothing about its prompt.
    return own ? [{ ...observedCalls(own), reward: r.reward ?? 0, split: r.split }] : [];
  });
  return selectReflectionRollouts(observed, REFLECTION);
}

/** The module's calls of one rollout as one observed example: variables first, then the conversation. */
function observedCalls(calls: readonly RolloutCallRecord[]): { input: unknown[]; output: string | null } {
  const shown = calls.slice(0, CALLS_PER_ROLLOUT);
  const input: unknown[] = [];
  for (const [i, c] of shown.entries()) {
    if (shown.length > 1) input.push({ role: `call ${i + 1}`, content: '' });
    const vars = Object.entries(c.variables ?? {});
    if (vars.length > 0) input.push({ role: 'template variables', content: vars.map(([k, v]) => `{${k}} = ${v}`).join('\n') });
    input.push(...(c.inputMessages ?? []));
  }
  const outputs = shown.map((c) => c.outputText).filter((o): o is string => o !== null);
  const more = calls.length > shown.length ? `\n(${calls.length - shown.length} more calls of this module in the rollout)` : '';
  return { input, output: outputs.length > 0 ? outputs.join('\n---\n') + more : null };
}
