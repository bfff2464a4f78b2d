import { addObservation, childrenBeingMeasured, chooseParent, emptyStats, nextSeed, proposalDecision } from '../../src/optimizer/core/index.js';
import { addSeedReward, ledgerStats, newSeedLedger } from '../../src/optimizer/core/seedClusters.js';
import { stopDecision } from '../../src/optimizer/core/stopRule.js';
import { createSeededRng, type Rng } from '../../src/shared/rng.js';
import type { ArmModel, Policy, ReplicateResult, Setting, SimArm, SimConfig, SimWorld, WorldStreams } from './types.js';
import { thetaWorld } from './world.js';

/**
 * One simulated job: rollouts one at a time; each reward arrives 1..maxDelay rollouts later, or
 * never (missingRate), in which case it stops counting as in flight after rewardTtl rollouts. A
 * proposal starts every proposerMinRollouts online rewards (until maxCandidates), once the earlier
 * children are measured (as the runner: childrenBeingMeasured), and its children exist proposalLag
 * rollouts later. Every policy sees the same world per replicate (seeds,
 * difficulties, baseline and the k-th child's perturbation), so differences are the policy's.
 * The world (single-prompt theta world, or a program world) decides true means, rewards and children.
 */

/** Identification tolerance: a champion within this of the best true mean counts as the best arm. */
export const IDENTIFICATION_TOLERANCE = 0.01;

interface Arrival {
  armId: string;
  reward: number | null;
  split: 'bootstrap' | 'online' | 'val';
  seed: number;
}

/** The single-prompt benchmark: a theta world for the setting. */
export function runReplicate(cfg: SimConfig, setting: Setting, makePolicy: (rng: Rng) => Policy, replicate: number): ReplicateResult {
  return runWorld(cfg, (streams) => thetaWorld(cfg, setting, streams), makePolicy, replicate);
}

export function runWorld(
  cfg: SimConfig,
  makeWorld: (streams: WorldStreams) => SimWorld,
  makePolicy: (rng: Rng) => Policy,
  replicate: number,
): ReplicateResult {
  const streams: WorldStreams = {
    world: createSeededRng(streamSeed(replicate, 1)),
    child: createSeededRng(streamSeed(replicate, 2)),
    module: createSeededRng(streamSeed(replicate, 6)),
  };
  const rewardRng = createSeededRng(streamSeed(replicate, 3));
  const parentRng = createSeededRng(streamSeed(replicate, 4));
  const policy = makePolicy(createSeededRng(streamSeed(replicate, 5)));
  const R = cfg.rolloutsPerCandidate;

  const world = makeWorld(streams);
  const seeds = world.seeds;
  const arms: SimArm[] = [];
  const byId = new Map<string, SimArm>();
  const addArm = (model: ArmModel, parentId: string | null): SimArm => {
    const arm: SimArm = {
      id: arms.length === 0 ? 'baseline' : `cand_${arms.length}`,
      isControl: arms.length === 0,
      status: 'active',
      createdOrder: arms.length,
      parentId,
      module: model.module,
      model,
      trueMean: model.trueMean,
      dispatches: 0,
      inFlight: 0,
      stats: emptyStats(),
      ledger: newSeedLedger(),
      seedStats: undefined,
      missing: { due: 0, missing: 0 },
      unitInterval: true,
      val: emptyStats(),
      valBySeed: {},
      valAtBySeed: {},
      valSeedsIssued: [],
    };
    arms.push(arm);
    byId.set(arm.id, arm);
    return arm;
  };
  const control = addArm(world.baseline, null);
  let bestTrueMean = control.trueMean;

  const arrivals: Arrival[][] = [];
  const schedule = (at: number, a: Arrival): void => {
    (arrivals[at] ??= []).push(a);
  };
  const issued = { bootstrap: 0, online: 0, val: 0 };
  let rewardsSinceProposal = 0;
  let proposal: { parentId: string; count: number; readyAt: number; make: (count: number) => ArmModel[] } | null = null;
  let cumulativeRegret = 0;
  let stoppedAt: number | null = null;

  for (let t = 0; t < cfg.budget; t++) {
    world.tick?.(t);
    let rewarded = false;
    for (const a of arrivals[t] ?? []) {
      const arm = byId.get(a.armId)!;
      arm.inFlight -= 1;
      if (a.split !== 'val') arm.missing.due += 1;
      if (a.reward === null) {
        if (a.split !== 'val') arm.missing.missing += 1;
        continue;
      }
      rewarded = true;
      world.observe?.({ armId: arm.id, model: arm.model, seed: a.seed, split: a.split, reward: a.reward });
      if (a.split === 'val') {
        arm.val = addObservation(arm.val, a.reward);
        arm.valBySeed[a.seed] = a.reward;
      } else {
        arm.stats = addObservation(arm.stats, a.reward);
        addSeedReward(arm.ledger, a.seed, a.reward);
        arm.seedStats = ledgerStats(arm.ledger);
        rewardsSinceProposal += 1;
      }
    }
    arrivals[t] = [];
    if (rewarded) for (const id of policy.retire(arms)) byId.get(id)!.status = 'retired';
    // The runner's check after a reward: the pool is final (cap reached, no proposal in flight).
    if (rewarded && cfg.stopRule && proposal === null && arms.length >= cfg.maxCandidates) {
      const d = stopDecision({
        candidates: arms, rolloutsPerCandidate: R, ...cfg.stopRule, maxCandidates: cfg.maxCandidates, poolFinal: true,
        valSeedCount: seeds.val.length, valIssuedOf: (id) => byId.get(id)?.valSeedsIssued.length ?? 0,
      });
      if (d.stop) {
        stoppedAt = t;
        break;
      }
    }

    if (proposal && t >= proposal.readyAt) {
      for (const model of proposal.make(proposal.count)) {
        bestTrueMean = Math.max(bestTrueMean, addArm(model, proposal.parentId).trueMean);
      }
      proposal = null;
    }
    const decision = proposalDecision({
      jobStatus: 'running',
      rewardsSinceProposal,
      minRollouts: cfg.proposerMinRollouts,
      candidateCount: arms.length,
      maxCandidates: cfg.maxCandidates,
      proposalInFlight: proposal !== null,
      rolloutCount: t,
      maxRollouts: cfg.budget,
      childrenBeingMeasured: () => (policy.measuresChildren === false ? 0 : childrenBeingMeasured(arms, R, world.moduleCount)),
    });
    if (decision.propose) {
      const parentId = chooseParent(arms, R, parentRng) ?? control.id;
      const make = world.propose(byId.get(parentId)!, arms);
      proposal = { parentId, count: Math.min(decision.room, cfg.instructionsPerBatch), readyAt: t + cfg.proposalLag, make };
      rewardsSinceProposal = 0;
    }

    const confirm = policy.confirmsOnVal
      ? policy.confirmationTargets(arms).map((id) => ({ candidateId: id, seedsIssued: byId.get(id)!.valSeedsIssued }))
      : [];
    const next = nextSeed({
      bootstrapSeeds: seeds.bootstrap,
      onlinePool: seeds.online,
      valSeeds: seeds.val,
      issued,
      controlId: control.id,
      confirm,
      valEvery: cfg.valEvery,
    });
    issued[next.split] += 1;
    const arm = byId.get(next.assignCandidateId ?? policy.select(arms, t))!;
    arm.dispatches += 1;
    arm.inFlight += 1;
    if (next.split === 'val') {
      arm.valSeedsIssued.push(next.seed);
      arm.valAtBySeed[next.seed] = t;
    }
    cumulativeRegret += bestTrueMean - arm.trueMean;

    const reward = arm.model.reward(next.seed, rewardRng);
    // Informative missingness draws only in worlds that have it, so the other worlds' streams are unchanged.
    const dropped = arm.model.dropChance !== undefined && next.split !== 'val' && rewardRng.next() < arm.model.dropChance(reward);
    if (rewardRng.next() < cfg.missingRate || dropped) {
      schedule(t + cfg.rewardTtl, { armId: arm.id, reward: null, split: next.split, seed: next.seed });
    } else {
      schedule(t + 1 + Math.floor(rewardRng.next() * cfg.maxDelay), { armId: arm.id, reward, split: next.split, seed: next.seed });
    }
  }

  const report = policy.report(arms);
  const champion = byId.get(report.championId)!;
  const best = Math.max(...arms.map((a) => a.trueMean));
  return {
    cumulativeRegret,
    identified: champion.trueMean >= best - IDENTIFICATION_TOLERANCE,
    simpleRegret: best - champion.trueMean,
    covered: report.ci ? report.ci[0] <= champion.trueMean && champion.trueMean <= report.ci[1] : null,
    significantLift: report.significantLift,
    championTrulyBetter: champion.trueMean > control.trueMean,
    valRollouts: issued.val,
    retired: arms.filter((a) => a.status === 'retired').length,
    arms: arms.length,
    championTrueMean: champion.trueMean,
    proposalsByModule: world.proposalsByModule(),
    stoppedAt,
    valSeedLeaks: arms.reduce((n, a) => n + seeds.val.filter((s) => a.ledger.cells.has(s)).length, 0),
  };
}

/** Independent, reproducible streams per (replicate, purpose): a splitmix32-style hash. */
function streamSeed(replicate: number, stream: number): number {
  let x = (Math.imul(replicate + 1, 0x9e3779b1) ^ Math.imul(stream, 0x85ebca6b)) >>> 0;
  x = Math.imul(x ^ (x >>> 16), 0x7feb352d) >>> 0;
  x = Math.imul(x ^ (x >>> 15), 0x846ca68b) >>> 0;
  return (x ^ (x >>> 16)) >>> 0;
}
