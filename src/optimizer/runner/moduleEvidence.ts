import type { RolloutCallRecord, RolloutFeedback, Store } from '../../store/types.js';
import { modulePlaceholders, type ProgramModule } from '../core/modules.js';
import { selectReflectionRollouts, type ObservedRollout } from '../core/proposerPrompt.js';
import { truncate } from '../core/text.js';

/** Rollouts of the parent shown to the proposer (GEPA-style reflection): its worst and its best. */
export const REFLECTION = { worst: 3, best: 2 };
/** Rollouts read per side: more than shown, since retention may have cleared some calls' text. */
const READ_PER_SIDE = 12;
/**
 * Calls of one module within one rollout shown to the proposer: its first and its last. The last is
 * the one that ended the module's work (a tool loop's final answer, the reward's subject); the
 * first two of a five-step loop showed two tool calls and never the answer.
 */
const CALLS_FROM_EACH_END = 1;
/** Longest placeholder value shown (the whole example is cut at the proposer prompt's limit too). */
const VARIABLE_CHARS = 240;

/**
 * What the proposer sees of one module: the module's own calls (input, variables, output) in the
 * parent's worst and best rewarded rollouts, with each rollout's reward and the app's feedback
 * text (reward_info.feedback, per module where given). Never val rollouts
 * (rewardedRollouts excludes them, selectReflectionRollouts checks again). Existing rollouts were
 * migrated to one call record each, so older jobs are grounded the same way.
 */
export async function moduleReflection(store: Store, jobId: string, parentId: string, module: ProgramModule): Promise<{ worst: ObservedRollout[]; best: ObservedRollout[] }> {
  const [lowest, highest] = await Promise.all([
    // Only rollouts that called the module (answered): those are the ones that can be shown.
    store.rewardedRollouts(jobId, parentId, { order: 'worst', limit: READ_PER_SIDE, module: module.name }),
    store.rewardedRollouts(jobId, parentId, { order: 'best', limit: READ_PER_SIDE, module: module.name }),
  ]);
  // The two queries overlap when the parent has few rollouts; the core splits them into worst and best.
  const rollouts = [...new Map([...lowest, ...highest].map((r) => [r.id, r])).values()];
  const ids = rollouts.map((r) => r.id);
  // The text of what is shown only: this module's first calls of each rollout (a rollout may hold
  // hundreds of calls); how many it made comes from the calls' modules alone (answered ones, like those shown).
  const [first, last, modules, feedback] = await Promise.all([
    // Answered calls only: a call the upstream failed (a 5xx, a timeout, an outage) shows no output,
    // which the proposer read as what the instruction made the model write, and such rollouts (scored
    // low by the app) took the "worst" places from the instruction's real failures.
    store.rolloutCalls(jobId, ids, { module: module.name, perRollout: CALLS_FROM_EACH_END, answered: true }),
    store.rolloutCalls(jobId, ids, { module: module.name, perRollout: CALLS_FROM_EACH_END, answered: true, fromEnd: true }),
    store.callModules(jobId, ids, { answered: true }),
    store.rolloutFeedback(jobId, ids),
  ]);
  // A rollout with one call of the module reads it twice: once is enough.
  const calls = [...new Map([...first, ...last].map((c) => [`${c.rolloutId}\u0000${c.seq}`, c])).values()]
    .sort((a, b) => (a.rolloutId < b.rolloutId ? -1 : a.rolloutId > b.rolloutId ? 1 : a.seq - b.seq));
  const placeholders = new Set(modulePlaceholders(module, module.template));
  const byRollout = new Map<string, RolloutCallRecord[]>();
  for (const c of calls) {
    // A call whose text retention cleared (RETENTION_DAYS) shows nothing; shown anyway it read as a
    // call that answered nothing ("(no output)"), which misleads the proposer.
    if (c.inputMessages === null && c.outputText === null) continue;
    byRollout.set(c.rolloutId, [...(byRollout.get(c.rolloutId) ?? []), c]);
  }
  const observed = rollouts.flatMap((r) => {
    const shown = byRollout.get(r.id);
    // Rollouts that never called this module say nothing about its prompt.
    if (!shown) return [];
    const total = (modules.get(r.id) ?? []).filter((m) => m === module.name).length;
    return [{ ...observedCalls(shown, total, placeholders), reward: r.reward ?? 0, split: r.split, feedback: feedbackFor(feedback.get(r.id), module.name) }];
  });
  return selectReflectionRollouts(observed, REFLECTION);
}

/**
 * The feedback the proposer sees beside one rollout of this module: the text written for this
 * module (feedback_by_module) when the app gave one, and the rollout's overall feedback.
 */
export function feedbackFor(f: RolloutFeedback | undefined, module: string): string | null {
  if (!f) return null;
  const own = f.byModule && Object.hasOwn(f.byModule, module) ? f.byModule[module] : undefined;
  const parts = [own ? `(module ${module}) ${own}` : null, f.feedback].filter((x): x is string => typeof x === 'string' && x.trim().length > 0);
  return parts.length > 0 ? parts.join('\n') : null;
}

/**
 * The module's calls of one rollout as one observed example: the conversation first (it is what the
 * instruction acts on), then the values the module's own placeholders had, each cut short so a long
 * retrieved context cannot crowd out the rest.
 */
function observedCalls(calls: readonly RolloutCallRecord[], total: number, placeholders: ReadonlySet<string>): { input: unknown[]; output: string | null } {
  // A tool loop: each call resends the conversation so far, so the last call's input holds the first
  // call's input and, as assistant turns, every answer (tool call) before its own. Shown alone it
  // tells the whole loop once; beside the first call it repeated the question and cut the budget.
  const loop = calls.length > 1 && continues(calls[0]!, calls.at(-1)!);
  const shown = loop ? [calls.at(-1)!] : calls;
  const input: unknown[] = [];
  for (const [i, c] of shown.entries()) {
    if (shown.length > 1) input.push({ role: `call ${i + 1}`, content: '' });
    input.push(...(c.inputMessages ?? []));
    const vars = Object.entries(c.variables ?? {}).filter(([k]) => placeholders.has(k));
    if (vars.length > 0) input.push({ role: 'template variables', content: vars.map(([k, v]) => `{${k}} = ${truncate(v, VARIABLE_CHARS)}`).join('\n') });
  }
  const outputs = shown.map((c) => c.outputText).filter((o): o is string => o !== null);
  const more = loop
    ? `\n(the last of ${total} calls of this module in the rollout, one conversation: the assistant turns of its input are the earlier calls' answers)`
    : total > shown.length ? `\n(${total - shown.length} more calls of this module in the rollout)` : '';
  return { input, output: outputs.length > 0 ? outputs.join('\n---\n') + more : null };
}

/** Whether `later`'s conversation is `earlier`'s continued: it opens with every message `earlier` sent. */
function continues(earlier: RolloutCallRecord, later: RolloutCallRecord): boolean {
  const head = earlier.inputMessages ?? [];
  const tail = later.inputMessages ?? [];
  return head.length > 0 && tail.length > head.length && head.every((m, i) => JSON.stringify(m) === JSON.stringify(tail[i]));
}
