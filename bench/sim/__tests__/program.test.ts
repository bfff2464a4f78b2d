import { describe, expect, it } from 'vitest';
import { createSeededRng } from '../../../src/shared/rng.js';
import { runWorld } from '../engine.js';
import { PIPELINE_POLICIES, PIPELINE_SETTINGS, pipelineConfigs } from '../pipeline.js';
import { CHILD_MIXTURE, drawChildDelta, programTrueMean, programWorld, successProbability, type ProgramSetting } from '../program.js';
import type { SimConfig } from '../types.js';
import { sigmoid } from '../world.js';
import { BENCH_CONFIG } from '../config.js';

const BASE: SimConfig = { ...BENCH_CONFIG, budget: 1500, seeds: { bootstrap: 10, online: 300, val: 50 } };
const CFG: SimConfig = { ...pipelineConfigs(BASE)[0]!.cfg, budget: 1500 };
const setting = (name: string): ProgramSetting => PIPELINE_SETTINGS.find((s) => s.name.startsWith(name))!;
const miprox = PIPELINE_POLICIES[0]!;

describe('program world', () => {
  it('computes true means as products of module qualities (with the interaction and the repeated module)', () => {
    const logits = [1, 0, 2];
    const [q1, q2, q3] = logits.map(sigmoid) as [number, number, number];
    expect(programTrueMean('product', logits)).toBeCloseTo(q1 * q2 * q3, 12);
    expect(programTrueMean('interaction', logits)).toBeCloseTo(q1 * q2 * q3 ** (1 + 2 * (1 - q1)), 12);
    expect(programTrueMean('repeated', logits)).toBeCloseTo((q1 * q3 * (1 + q2 + q2 ** 2 + q2 ** 3)) / 4, 12);
    expect(successProbability('repeated', logits, 0)).toBeCloseTo(q1 * q3, 12);
  });

  it('draws rewards whose average over the seed population is the true mean', () => {
    const s = setting('(d)');
    const world = programWorld({ ...CFG, seeds: { bootstrap: 0, online: 4000, val: 0 } }, s, 'round_robin', {
      world: createSeededRng(1), child: createSeededRng(2), module: createSeededRng(3),
    });
    const rng = createSeededRng(4);
    let sum = 0;
    for (let i = 0; i < 40; i++) for (const seed of world.seeds.online) sum += world.baseline.reward(seed, rng);
    // 160,000 rewards: standard error about 0.0012; the finite pool of call counts adds about 0.004.
    expect(Math.abs(sum / 160_000 - world.baseline.trueMean)).toBeLessThan(0.015);
  });

  it('draws child moves from the documented mixture', () => {
    const rng = createSeededRng(9);
    const deltas = Array.from({ length: 20_000 }, () => drawChildDelta(rng));
    expect(deltas.filter((d) => d >= CHILD_MIXTURE.largeWin.min).length / deltas.length).toBeCloseTo(CHILD_MIXTURE.largeWin.p, 1);
    expect(deltas.filter((d) => d <= -CHILD_MIXTURE.regression.min).length / deltas.length).toBeGreaterThan(CHILD_MIXTURE.regression.p);
  });

  it('proposes round-robin over the modules until the pool is full, and changes nothing in the null setting', () => {
    const s = setting('(b)');
    const run = runWorld(CFG, (streams) => programWorld(CFG, s, 'round_robin', streams), (rng) => miprox.make(CFG, rng), 0);
    const counts = run.proposalsByModule!;
    expect(counts.reduce((a, b) => a + b, 0)).toBe(Math.ceil((CFG.maxCandidates - 1) / CFG.instructionsPerBatch));
    expect(Math.max(...counts) - Math.min(...counts)).toBeLessThanOrEqual(1);
    const nullRun = runWorld(CFG, (streams) => programWorld(CFG, setting('null'), 'credit', streams), (rng) => miprox.make(CFG, rng), 0);
    expect(nullRun.simpleRegret).toBe(0);
    expect(nullRun.cumulativeRegret).toBe(0);
  });

  it('is reproducible: the same replicate gives the same result', () => {
    const s = setting('(a)');
    const run = (): unknown => runWorld(CFG, (streams) => programWorld(CFG, s, 'credit', streams), (rng) => miprox.make(CFG, rng), 5);
    expect(run()).toEqual(run());
  });
});
