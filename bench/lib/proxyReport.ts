import type { LoadResult } from './loadClient.js';
import type { HistogramSnapshot } from './promHistogram.js';
import type { SequentialResult } from './proxyPhases.js';
import type { Target } from './proxyTargets.js';
import { fmtMs, fmtRate, fmtRatio } from './stats.js';
import { table, verdictLines, type Verdict } from './report.js';

/**
 * The proxy benchmark's output: one table (sequential latency, overhead vs direct, concurrent
 * throughput), the ratios against Portkey, miprox's own overhead histogram, and the targets of
 * DESIGN.md with met / MISSED. Returns the same numbers as data (for --json and the docs).
 */
export interface ProxyReportInput {
  options: { requests: number; warmup: number; rounds: number; connections: number; measureMs: number; warmupMs: number };
  seq: Map<Target['name'], SequentialResult>;
  conc: Map<Target['name'], LoadResult>;
  portkeyProblem: string | null;
  serverSide: { sequential: HistogramSnapshot | null; concurrent: HistogramSnapshot | null };
  persisted: { rollouts: number; sent: number };
  /** CPU (user+sys) of the process doing the work per request: the proxy's; for direct, the fake's. */
  cpuMsPerRequest: {
    sequential: Partial<Record<Target['name'], number | null>>;
    concurrent: Partial<Record<Target['name'], number | null>>;
  };
  quantile: (h: HistogramSnapshot, q: number) => number;
}

export const TARGETS = { addedP50Ms: 0.5, addedP99Ms: 3, miproxRps: 1000, vsPortkey: 5 } as const;

export function printProxyReport(r: ProxyReportInput) {
  const d = r.seq.get('direct');
  const added = (name: Target['name']) => {
    const s = r.seq.get(name);
    return s && d ? { p50: s.latency.p50 - d.latency.p50, p99: s.latency.p99 - d.latency.p99 } : null;
  };
  const names: Target['name'][] = ['direct', 'bare', 'miprox', 'portkey'];
  const label: Record<Target['name'], string> = { direct: 'direct', bare: 'bare node proxy (floor)', miprox: 'miprox', portkey: 'portkey' };
  const rows = names.map((name) => {
    const s = r.seq.get(name);
    const c = r.conc.get(name);
    const a = name === 'direct' ? null : added(name);
    if (!s) return [label[name], 'not measured', '', '', '', '', '', '', ''];
    return [
      label[name], fmtMs(s.latency.p50), fmtMs(s.latency.p99),
      a ? `+${fmtMs(a.p50)}` : '-', a ? `+${fmtMs(a.p99)}` : '-',
      c ? fmtRate(c.rps) : 'n/a', c ? fmtMs(c.latency.p50) : 'n/a', c ? fmtMs(c.latency.p99) : 'n/a',
      String(s.errors + (c?.errors ?? 0)),
    ];
  });
  const o = r.options;
  console.log(`\nSequential: 1 connection, ${o.requests} measured requests per target. Concurrent: ${o.connections} connections, ${o.measureMs / 1000} s measured.`);
  console.log(table(['target', 'seq p50', 'seq p99', 'added p50', 'added p99', `req/s @${o.connections}`, `p50 @${o.connections}`, `p99 @${o.connections}`, 'errors'], rows));

  const cpu = r.cpuMsPerRequest;
  const cpuCell = (v: number | null | undefined) => (v === null || v === undefined ? 'n/a' : fmtMs(v));
  console.log(`\nCPU time (user+sys, from /proc) per request of the process doing the work (direct: the fake upstream):`);
  console.log(table(['process', 'sequential', `@${o.connections} connections`], [
    ['fake (direct)', '-', cpuCell(cpu.concurrent.direct)],
    ['bare node proxy', cpuCell(cpu.sequential.bare), cpuCell(cpu.concurrent.bare)],
    ['miprox', cpuCell(cpu.sequential.miprox), cpuCell(cpu.concurrent.miprox)],
    ['portkey', cpuCell(cpu.sequential.portkey), cpuCell(cpu.concurrent.portkey)],
  ]));

  const m = added('miprox');
  const p = added('portkey');
  const mRps = r.conc.get('miprox')?.rps ?? Number.NaN;
  const pRps = r.conc.get('portkey')?.rps ?? Number.NaN;
  const ratios = {
    throughputMiproxOverPortkey: mRps / pRps,
    overheadP50PortkeyOverMiprox: p && m && m.p50 > 0 ? p.p50 / m.p50 : Number.NaN,
    overheadP99PortkeyOverMiprox: p && m && m.p99 > 0 ? p.p99 / m.p99 : Number.NaN,
  };
  console.log(`\nmiprox throughput / portkey throughput: ${fmtRatio(ratios.throughputMiproxOverPortkey)}`);
  console.log(`portkey added latency / miprox added latency: p50 ${fmtRatio(ratios.overheadP50PortkeyOverMiprox)}, p99 ${fmtRatio(ratios.overheadP99PortkeyOverMiprox)}`);
  if (r.portkeyProblem) console.log(`portkey was NOT measured: ${r.portkeyProblem}`);

  const hist = (h: HistogramSnapshot | null) =>
    h && h.count > 0 ? { n: h.count, p50: r.quantile(h, 0.5) * 1000, p99: r.quantile(h, 0.99) * 1000, mean: (h.sum / h.count) * 1000 } : null;
  const serverSide = { sequential: hist(r.serverSide.sequential), concurrent: hist(r.serverSide.concurrent) };
  console.log(`\nmiprox's own ${'miprox_proxy_overhead_seconds'} (handling time minus upstream time; bucket estimate):`);
  for (const [phase, h] of Object.entries(serverSide)) {
    console.log(h ? `  ${phase.padEnd(10)} n=${h.n}  p50 ~${fmtMs(h.p50)}  p99 ~${fmtMs(h.p99)}  mean ${fmtMs(h.mean)}` : `  ${phase}: no observations`);
  }
  console.log(`rollout records persisted: ${r.persisted.rollouts} of ${r.persisted.sent} requests sent through miprox`);

  const noPortkey = `not measured (${r.portkeyProblem ?? 'portkey missing'})`;
  const verdicts: Verdict[] = [
    { target: `miprox added p50 <= ${TARGETS.addedP50Ms} ms (sequential)`, measured: m ? fmtMs(m.p50) : 'n/a', met: m ? m.p50 <= TARGETS.addedP50Ms : null },
    { target: `miprox added p99 <= ${TARGETS.addedP99Ms} ms (sequential)`, measured: m ? fmtMs(m.p99) : 'n/a', met: m ? m.p99 <= TARGETS.addedP99Ms : null },
    { target: `miprox >= ${TARGETS.miproxRps} req/s at ${o.connections} connections, persistence on`, measured: fmtRate(mRps), met: Number.isFinite(mRps) ? mRps >= TARGETS.miproxRps : null },
    {
      target: `miprox throughput >= ${TARGETS.vsPortkey}x portkey`,
      measured: Number.isFinite(pRps) ? `${fmtRatio(ratios.throughputMiproxOverPortkey)} (${fmtRate(mRps)} vs ${fmtRate(pRps)})` : noPortkey,
      met: Number.isFinite(ratios.throughputMiproxOverPortkey) ? ratios.throughputMiproxOverPortkey >= TARGETS.vsPortkey : null,
    },
    {
      target: `miprox added p50 latency >= ${TARGETS.vsPortkey}x smaller than portkey's (DESIGN.md)`,
      measured: p && m ? `${fmtRatio(ratios.overheadP50PortkeyOverMiprox)} (${fmtMs(m.p50)} vs ${fmtMs(p.p50)})` : noPortkey,
      met: p && m ? m.p50 <= 0 || p.p50 / m.p50 >= TARGETS.vsPortkey : null,
    },
  ];
  console.log(`\nTargets:\n${verdictLines(verdicts)}`);
  const errorSamples = [...r.seq.entries()].flatMap(([n, s]) => s.errorSamples.map((e) => `${n} (sequential): ${e}`))
    .concat([...r.conc.entries()].flatMap(([n, c]) => c.errorSamples.map((e) => `${n} (concurrent): ${e}`)));
  if (errorSamples.length) console.log(`\nErrors seen:\n${errorSamples.slice(0, 10).join('\n')}`);

  return {
    options: r.options,
    sequential: Object.fromEntries([...r.seq.entries()].map(([n, s]) => [n, { ...s.latency, errors: s.errors }])),
    concurrent: Object.fromEntries([...r.conc.entries()].map(([n, c]) => [n, { rps: c.rps, ...c.latency, errors: c.errors }])),
    added: { bare: added('bare'), miprox: m, portkey: p },
    ratios,
    serverSide,
    persisted: r.persisted,
    cpuMsPerRequest: r.cpuMsPerRequest,
    portkeyProblem: r.portkeyProblem,
    verdicts,
  };
}
