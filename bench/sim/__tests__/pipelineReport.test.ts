import { describe, expect, it } from 'vitest';
import type { CellSummary } from '../aggregate.js';
import { PIPELINE_SETTINGS } from '../pipeline.js';
import { pipelineVerdicts, spliceSection } from '../pipelineReport.js';

const summary = (over: Partial<CellSummary>): CellSummary => ({
  replicates: 100, regretMean: 50, regretSe: 1, identification: 0.9, identification02: 0.95, simpleRegretMean: 0.004,
  coverage: 0.95, significantLift: 0.5, falseImprovement: 0, valShare: 0.05, retiredMean: 0, armsMean: 20,
  championMean: 0.6, moduleShares: [0.2, 0.6, 0.2], stoppedShare: 0, rolloutsUsedMean: 2000, stoppedIdentification: null, valSeedLeaks: 0, ...over,
});

describe('pipeline-3 report', () => {
  it('checks the bottleneck share only where the setting has a bottleneck', () => {
    const [a, b] = PIPELINE_SETTINGS;
    const cells = [
      { setting: a!, policy: 'miprox', summary: summary({ moduleShares: [0.3, 0.5, 0.2] }) },
      { setting: b!, policy: 'miprox', summary: summary({}) },
    ];
    const missed = pipelineVerdicts(cells, 'miprox').filter((v) => !v.met).map((v) => v.line);
    expect(missed).toEqual([expect.stringContaining('bottleneck module 50.0%')]);
  });

  it('rewrites its own section in place and appends it to a document without one', () => {
    const section = (n: number): string => `<!-- pipeline-3:start -->\nrun ${n}\n<!-- pipeline-3:end -->\n`;
    const once = spliceSection('# Doc\n\nbody\n', section(1));
    expect(once).toBe(`# Doc\n\nbody\n\n${section(1)}`);
    expect(spliceSection(once, section(2))).toBe(`# Doc\n\nbody\n\n${section(2)}`);
  });
});
