import { sampleStandardNormal } from '../../src/optimizer/core/index.js';
import { buildDemoPool, proposeDemoSet, type Demo } from '../../src/optimizer/core/demos.js';
import { chooseProposalKind, kindStats, type KindChild, type ProposalKind, type ProposerMode } from '../../src/optimizer/core/proposalKind.js';
import type { Rng } from '../../src/shared/rng.js';
import type { ArmModel, SimArm, SimConfig, SimWorld, WorldStreams } from './types.js';
import { drawReward, drawSeeds, trueMean } from './world.js';

/**
 * Worlds where demonstrations and textual feedback matter (bench --only demos).
 *
 * Demo world: every seed has one of TYPES label types and a difficulty. A program is an instruction
 * (a skill per type, the baseline's drawn N(0, 0.8) per type) and an ordered demo set. P(success) on a seed of type t is
 * sigmoid(theta0 + skill_t + boost_t - b_s). A demo of type t raises boost_t by GAMMA times the demo's
 * own helpfulness q ~ U(0.5, 1.5) (a second demo of the same type adds half as much, a third a
 * quarter...); instructions and demos partly substitute: the boost shrinks by RHO times the
 * instruction's skill on that type (clamped to [0, 1]). Instruction children perturb the parent's
 * skills (common N(0, 0.25) plus N(0, 0.3) per type); demo-set children draw a set with the core's
 * own proposeDemoSet from a pool built by the core's buildDemoPool out of the rewarded rollouts that
 * have arrived (training splits only; the run throws if a val seed ever reaches a demo).
 *
 * Feedback world: every seed has a hidden failure cause (one of TYPES, independent of anything the
 * input shows), P(success) = sigmoid(theta0 + skill_cause - b_s), the baseline's skills N(0, 0.8). An instruction child perturbs the
 * skills as above and adds FIX to the cause its proposer targets: with feedback, the causes named most
 * often in the feedback of the parent's recent failed training rollouts (what the proposer reads
 * beside them), one per child in that order; without, a guess (the input does not show the cause).
 */

export const TYPES = 4;
const GAMMA = 1.0;
const BASE_SKILL_SD = 0.8;
const RHO = 0.6;
const FIX = 0.6;
const MAX_DEMOS = 4;
/** Failed rollouts of the parent whose feedback the proposer reads (REFLECTION.worst is 3; a few more arrive per batch). */
const FEEDBACK_WINDOW = 5;

export interface DemoWorldSetting {
  name: string;
  world: 'demos' | 'feedback';
  mode: ProposerMode;
  feedback: boolean;
}

interface Program {
  skill: number[];
  demos: Demo[];
  kind: ProposalKind | null;
}

export function demoWorld(cfg: SimConfig, setting: DemoWorldSetting, streams: WorldStreams): SimWorld {
  const seeds = drawSeeds(cfg.seeds, streams.world);
  const typeOf = new Map<number, number>();
  for (const s of [...seeds.bootstrap, ...seeds.online, ...seeds.val]) typeOf.set(s, Math.floor(streams.world.next() * TYPES));
  const helpfulness = new Map<number, number>();
  const qOf = (seed: number): number => {
    let q = helpfulness.get(seed);
    if (q === undefined) helpfulness.set(seed, (q = 0.5 + seedHash(seed)));
    return q;
  };
  const valSeeds = new Set(seeds.val);
  const theta0 = cfg.baselineTheta.mean + cfg.baselineTheta.sd * sampleStandardNormal(streams.world);
  // The baseline handles some types (causes) better than others: what a targeted fix or a demo is worth differs.
  const baseSkill = Array.from({ length: TYPES }, () => BASE_SKILL_SD * sampleStandardNormal(streams.world));
  const programOf = new WeakMap<ArmModel, Program>();
  const seedOfDemo = (d: Demo): number => Number(d.rolloutId.slice(1));

  const boosts = (p: Program, exclude: number | null): number[] => {
    const out = new Array<number>(TYPES).fill(0);
    if (setting.world !== 'demos') return out;
    const count = new Array<number>(TYPES).fill(0);
    for (const d of p.demos) {
      const s = seedOfDemo(d);
      if (s === exclude) continue; // the proxy never shows a call a demo of its own input
      const t = typeOf.get(s)!;
      out[t]! += GAMMA * qOf(s) * 0.5 ** count[t]!;
      count[t]! += 1;
    }
    return out.map((b, t) => b * (1 - RHO * Math.min(1, Math.max(0, p.skill[t]!))));
  };
  const logit = (p: Program, t: number, b: number[]): number => theta0 + p.skill[t]! + b[t]!;
  const model = (p: Program): ArmModel => {
    const b = boosts(p, null);
    const m: ArmModel = {
      trueMean: Array.from({ length: TYPES }, (_, t) => trueMean(logit(p, t, b))).reduce((a, x) => a + x, 0) / TYPES,
      reward: (seed, rng) => {
        const own = p.demos.some((d) => seedOfDemo(d) === seed) ? boosts(p, seed) : b;
        return drawReward(logit(p, typeOf.get(seed)!, own), seeds.difficulty.get(seed)!, rng);
      },
      module: null,
    };
    programOf.set(m, p);
    return m;
  };

  // What the runner would have stored: rewarded rollouts by split, and each arm's failures in arrival order.
  const observed: { seed: number; split: string; reward: number }[] = [];
  const failures = new Map<string, number[]>();
  const childRng = streams.child;
  const kindRng = streams.module;

  const instructionChild = (parent: Program, target: number | null): Program => {
    const common = 0.25 * sampleStandardNormal(childRng);
    const skill = parent.skill.map((s, t) => s + common + 0.3 * sampleStandardNormal(childRng) + (t === target ? FIX : 0));
    return { skill, demos: parent.demos, kind: 'instruction' };
  };
  /** The causes the proposal's children fix, in child order: guesses, or the causes the feedback names most often first. */
  const feedbackTargets = (parent: SimArm): number[] => {
    const guesses = Array.from({ length: TYPES }, () => Math.floor(childRng.next() * TYPES));
    if (setting.world !== 'feedback' || !setting.feedback) return guesses;
    const recent = (failures.get(parent.id) ?? []).slice(-FEEDBACK_WINDOW);
    if (recent.length === 0) return guesses;
    const votes = new Array<number>(TYPES).fill(0);
    for (const s of recent) votes[typeOf.get(s)!]! += 1;
    // Each child fixes a different named cause (a proposer that reads several failures writes different fixes).
    return Array.from({ length: TYPES }, (_, t) => t).sort((a, b) => votes[b]! - votes[a]! || a - b);
  };

  return {
    seeds,
    baseline: model({ skill: baseSkill, demos: [], kind: null }),
    observe: ({ armId, seed, split, reward }) => {
      observed.push({ seed, split, reward });
      // Feedback of val rollouts never reaches the proposer (moduleEvidence reads training rollouts only).
      if (reward === 0 && split !== 'val') failures.set(armId, [...(failures.get(armId) ?? []), seed]);
    },
    propose: (parent, arms) => {
      const parentProgram = programOf.get(parent.model)!;
      const pool = setting.mode === 'instruction_only' ? [] : buildDemoPool(observed.map((o) => ({
        rolloutId: `s${o.seed}`, split: o.split, reward: o.reward, inputMessages: [{ role: 'user', content: `seed ${o.seed}` }], outputText: 'label', failed: false, toolCalls: 0,
      })), { minReward: 1 });
      for (const d of pool) if (valSeeds.has(seedOfDemo(d))) throw new Error(`val seed ${seedOfDemo(d)} reached the demo pool`);
      const children: KindChild[] = arms.flatMap((a) => {
        const p = programOf.get(a.model)!;
        const par = arms.find((x) => x.id === a.parentId);
        return par ? [{ kind: p.kind, stats: a.stats, parentStats: par.stats }] : [];
      });
      const kind = chooseProposalKind({ mode: setting.mode, poolSize: pool.length, maxDemos: MAX_DEMOS, stats: kindStats(children, cfg.rolloutsPerCandidate) }, kindRng);
      const targets = feedbackTargets(parent);
      return (count) => {
        const made: Program[] = [];
        for (let i = 0; i < count; i++) {
          if (kind === 'demos') {
            const existing = [...arms.map((a) => programOf.get(a.model)!), ...made].filter((p) => p.skill === parentProgram.skill).map((p) => p.demos);
            const set = proposeDemoSet({ pool, parent: parentProgram.demos, existing, maxDemos: MAX_DEMOS }, childRng);
            if (set) {
              for (const d of set) if (valSeeds.has(seedOfDemo(d))) throw new Error(`val seed ${seedOfDemo(d)} reached a demo set`);
              made.push({ skill: parentProgram.skill, demos: set, kind: 'demos' });
              continue;
            }
            if (setting.mode === 'demos_only') {
              made.push({ ...parentProgram, kind: 'demos' }); // no new set: the runner would skip; the engine needs a child
              continue;
            }
          }
          made.push(instructionChild(parentProgram, setting.world === 'feedback' ? targets[i % TYPES]! : null));
        }
        return made.map(model);
      };
    },
    proposalsByModule: () => null,
  };
}

/** A fixed helpfulness in [0, 1) per seed (the same demo helps the same in every run and mode). */
function seedHash(seed: number): number {
  let x = Math.imul(seed + 0x51ed27, 0x9e3779b1) >>> 0;
  x = Math.imul(x ^ (x >>> 15), 0x85ebca6b) >>> 0;
  return ((x ^ (x >>> 13)) >>> 0) / 4294967296;
}

/** The rng type is re-exported for the bench's policy factories. */
export type { Rng };
