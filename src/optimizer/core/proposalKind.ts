import type { Rng } from '../../shared/rng.js';
import { sampleBeta } from './sampling.js';
import { tipOutcome } from './tips.js';
import type { RunningStats } from './types.js';

/**
 * Which kind of proposal the next one is (docs/optimizer.md, "Demonstrations"): an instruction
 * proposal (the proposer model writes new text for one module) or a demo-set proposal (a new subset
 * or order of the module's demo pool, no model call). Pure.
 *
 * With `instruction_and_demos` the two kinds are arms of a small Thompson bandit, as the tips are:
 * a child "wins" when its online mean beats its parent's after R rewards. Only online statistics
 * (bootstrap + online splits) feed it, never val, so the val seeds stay held out for confirming the
 * champion, and the champion rule itself is unchanged.
 */

export const PROPOSER_MODES = ['instruction_only', 'demos_only', 'instruction_and_demos'] as const;
export type ProposerMode = (typeof PROPOSER_MODES)[number];
export type ProposalKind = 'instruction' | 'demos';

export interface KindChild {
  kind: ProposalKind | null;
  stats: RunningStats;
  parentStats: RunningStats | null;
}

export interface KindRecord { wins: number; losses: number }

/** Wins and losses of each kind, from the children whose outcome is known. */
export function kindStats(children: readonly KindChild[], R: number): Record<ProposalKind, KindRecord> {
  const out: Record<ProposalKind, KindRecord> = { instruction: { wins: 0, losses: 0 }, demos: { wins: 0, losses: 0 } };
  for (const c of children) {
    if (!c.kind || !c.parentStats) continue;
    const won = tipOutcome(c.stats, c.parentStats, R);
    if (won === true) out[c.kind].wins++;
    else if (won === false) out[c.kind].losses++;
  }
  return out;
}

/**
 * The kind of the next proposal, or null when the mode allows none now (`demos_only` before any
 * demo qualifies). A demo-set proposal needs a pool of at least one demo and `max_demos` > 0.
 */
export function chooseProposalKind(p: {
  mode: ProposerMode;
  poolSize: number;
  maxDemos: number;
  stats: Record<ProposalKind, KindRecord>;
}, rng: Rng): ProposalKind | null {
  const demosPossible = p.poolSize > 0 && p.maxDemos > 0;
  if (p.mode === 'instruction_only') return 'instruction';
  if (p.mode === 'demos_only') return demosPossible ? 'demos' : null;
  if (!demosPossible) return 'instruction';
  const draw = (r: KindRecord): number => sampleBeta(1 + r.wins, 1 + r.losses, rng);
  return draw(p.stats.demos) > draw(p.stats.instruction) ? 'demos' : 'instruction';
}

/** What kind of proposal made a child: which of the changed module's two parts differs from its parent. */
export function kindOf(child: { module: string | null; instructions: Readonly<Record<string, string>>; demos: Readonly<Record<string, readonly { rolloutId: string }[]>> },
  parent: { instructions: Readonly<Record<string, string>>; demos: Readonly<Record<string, readonly { rolloutId: string }[]>> }): ProposalKind | null {
  if (!child.module) return null;
  const ids = (d: readonly { rolloutId: string }[] | undefined): string => (d ?? []).map((x) => x.rolloutId).join('|');
  if (ids(child.demos[child.module]) !== ids(parent.demos[child.module])) return 'demos';
  if (child.instructions[child.module] !== parent.instructions[child.module]) return 'instruction';
  return null;
}
