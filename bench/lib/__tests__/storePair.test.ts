import { describe, expect, it } from 'vitest';
import type { LoadResult } from '../loadClient.js';
import { machineCpuMeter } from '../procCpu.js';
import { pairVerdicts, type PairRow } from '../storePair.js';

const load = (rps: number, errors = 0): LoadResult => ({
  latency: { count: 1, mean: 1, p50: 1, p90: 1, p99: 1, max: 1 }, rps, measuredRequests: 1, wallMs: 1, errors, errorSamples: [], nextN: 1,
});
const row = (store: PairRow['store'], round: number, rps: number, errors = 0): PairRow => ({
  name: `${store} #${round}`, store, round, load: load(rps, errors), cpu: { miprox: 0.3, postgres: 0.1, backends: store === 'postgres' ? 0.1 : null },
});

describe('pairVerdicts', () => {
  it('judges each round on its own pair and the rounds together on their median ratio', () => {
    const rows = [row('sqlite', 1, 1000), row('postgres', 1, 900), row('postgres', 2, 700), row('sqlite', 2, 1000), row('sqlite', 3, 1000), row('postgres', 3, 820)];
    const { verdicts, ratios, cpuLines } = pairVerdicts(rows);
    expect(ratios.map((r) => r.toFixed(2))).toEqual(['0.90', '0.70', '0.82']);
    expect(verdicts.map((v) => v.met)).toEqual([true, false, true, true]);
    expect(verdicts[3]!.measured).toBe('0.82x (2 of 3 rounds at or above)');
    expect(cpuLines[0]).toContain('ratio 0.75x');
  });

  it('does not count a round with errors as met, and a median below 0.8x as missed', () => {
    const rows = [row('sqlite', 1, 1000), row('postgres', 1, 950, 3), row('sqlite', 2, 1000), row('postgres', 2, 500)];
    const { verdicts } = pairVerdicts(rows);
    expect(verdicts.map((v) => v.met)).toEqual([false, false, false]);
  });

  it('says "not measured" for a round without its PostgreSQL row', () => {
    const { verdicts } = pairVerdicts([row('sqlite', 1, 1000)]);
    expect(verdicts).toHaveLength(1);
    expect(verdicts[0]).toMatchObject({ measured: 'not measured', met: null });
  });
});

describe('machineCpuMeter', () => {
  it('reads busy and idle time of the whole machine from /proc/stat', async () => {
    const meter = machineCpuMeter();
    const end = Date.now() + 50;
    while (Date.now() < end) Math.sqrt(Math.random());
    const used = meter.stop();
    if (used === null) return expect(process.platform).not.toBe('linux');
    expect(used.busyMs).toBeGreaterThan(0);
    expect(used.busyMs + used.idleMs).toBeGreaterThan(0);
  });
});
