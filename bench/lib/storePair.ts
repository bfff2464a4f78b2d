import { mkdtempSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { dropPostgresSchema } from '../../src/store/postgres/postgresStore.js';
import { PG_URL, uniqueSchema } from '../../test/helpers/postgres.js';
import { formatProfile, mainThreadProfile, summarizeProfile } from './cpuProfile.js';
import type { LoadResult } from './loadClient.js';
import { startMiprox } from './miproxService.js';
import { backendCpuMeter, cpuMeter, postgresCpuMeter } from './procCpu.js';
import { concurrentPhase } from './proxyPhases.js';
import { miproxTarget, smokeTest } from './proxyTargets.js';
import type { Verdict } from './report.js';
import { fmtRate } from './stats.js';

/**
 * The SQLite / PostgreSQL pair (issue 18's "proxy throughput on PostgreSQL >= 0.8x SQLite's"): one
 * fresh `miprox serve` per store, each measured alone at N connections against the same fake
 * upstream, in rounds that alternate which store goes first (the machine is shared: neighbours'
 * load shifts between rows, so a pair is only comparable within its round). Used by bench:cluster
 * (`--pair-only --rounds N`) and by bench:proxy (one round), so both report the ratio.
 */
export const PG_SHARE = 0.8;

export interface CpuPerRequest { miprox: number | null; postgres: number; backends: number | null }
export interface PairRow { name: string; store: 'sqlite' | 'postgres'; round: number; load: LoadResult; cpu: CpuPerRequest }
export interface PairShape { connections: number; warmupMs: number; measureMs: number }
export interface PairOptions { upstreamUrl: string; shape: PairShape; rounds: number; profile?: boolean }

export async function measurePairs(o: PairOptions): Promise<PairRow[]> {
  const rows: PairRow[] = [];
  // Reads pg_stat_activity to find the instance's own backends (their CPU is the database's share).
  const admin = new pg.Client({ connectionString: PG_URL });
  await admin.connect();
  try {
    for (let round = 1; round <= o.rounds; round++) {
      const order = round % 2 === 1 ? (['sqlite', 'postgres'] as const) : (['postgres', 'sqlite'] as const);
      for (const store of order) rows.push(await measureOne(store, round, o, admin));
    }
  } finally {
    await admin.end();
  }
  return rows;
}

async function measureOne(store: PairRow['store'], round: number, o: PairOptions, admin: pg.Client): Promise<PairRow> {
  const schema = uniqueSchema('bench_single');
  const profDir = o.profile ? mkdtempSync(join(tmpdir(), `miprox-prof-${store}-`)) : null;
  const m = await startMiprox({
    upstreamUrl: o.upstreamUrl, nodeArgs: profDir ? ['--cpu-prof', '--cpu-prof-dir', profDir] : [],
    env: store === 'postgres' ? { DATABASE_URL: PG_URL, DATABASE_SCHEMA: schema, PGAPPNAME: schema } : {},
  });
  try {
    const target = miproxTarget(m.origin, m.proxyPath, store);
    await smokeTest(target);
    console.log(`${store}: one instance, ${o.shape.connections} connections, ${o.shape.measureMs / 1000} s (round ${round}, load average ${loadavg()[0]!.toFixed(2)})...`);
    const meter = cpuMeter({ miprox: m.service.proc.pid });
    const pgMeter = postgresCpuMeter();
    const ownMeter = store === 'postgres' ? await backendCpuMeter((text, values) => admin.query<{ pid: number }>(text, values), schema) : null;
    const load = await concurrentPhase(target, o.shape);
    // Per request sent (warm-up included: the meters ran through it too).
    const perRequest = (ms: number | null) => (ms === null ? null : ms / Math.max(1, load.nextN));
    const cpu = { miprox: perRequest(meter.stop().miprox ?? null), postgres: perRequest(pgMeter.stop()) ?? 0, backends: ownMeter ? perRequest(await ownMeter.stop()) : null };
    return { name: `${store} (1 instance, direct)${o.rounds > 1 ? ` #${round}` : ''}`, store, round, load, cpu };
  } finally {
    await m.cleanup();
    if (store === 'postgres') await dropPostgresSchema(PG_URL, schema);
    if (profDir) printProfile(store, profDir);
  }
}

/** One verdict per round, and the rounds' median ratio when there are several. */
export function pairVerdicts(rows: PairRow[]): { verdicts: Verdict[]; ratios: number[]; cpuLines: string[] } {
  const rounds = [...new Set(rows.map((r) => r.round))];
  const verdicts: Verdict[] = [];
  const ratios: number[] = [];
  const cpuLines: string[] = [];
  for (const round of rounds) {
    const sqlite = rows.find((r) => r.round === round && r.store === 'sqlite');
    const pgRow = rows.find((r) => r.round === round && r.store === 'postgres');
    if (!sqlite) continue;
    const ratio = pgRow ? pgRow.load.rps / sqlite.load.rps : null;
    if (ratio !== null) ratios.push(ratio);
    verdicts.push({
      target: `proxy throughput on PostgreSQL >= ${PG_SHARE}x SQLite's (one instance each, same run${rounds.length > 1 ? `, round ${round}` : ''})`,
      measured: pgRow ? `${fmtRate(pgRow.load.rps)} vs ${fmtRate(sqlite.load.rps)} = ${ratio!.toFixed(2)}x` : 'not measured',
      met: pgRow ? pgRow.load.rps >= PG_SHARE * sqlite.load.rps && pgRow.load.errors === 0 : null,
    });
    // On a saturated machine throughput follows CPU per request, which moves much less with the
    // neighbours' load than req/s does: SQLite's miprox CPU over PostgreSQL's miprox + own backends.
    const s = sqlite.cpu;
    const p = pgRow?.cpu;
    if (s.miprox != null && p?.miprox != null && p.backends != null) {
      cpuLines.push(`CPU per request, round ${round}: SQLite ${s.miprox.toFixed(3)} ms, PostgreSQL ${p.miprox.toFixed(3)} + ${p.backends.toFixed(3)} ms (miprox + its backends): ratio ${(s.miprox / (p.miprox + p.backends)).toFixed(2)}x`);
    }
  }
  if (ratios.length > 1) {
    const sorted = [...ratios].sort((a, b) => a - b);
    const mid = sorted.length / 2;
    const median = sorted.length % 2 ? sorted[Math.floor(mid)]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
    verdicts.push({
      target: `proxy throughput on PostgreSQL >= ${PG_SHARE}x SQLite's (median of ${ratios.length} rounds)`,
      measured: `${median.toFixed(2)}x (${ratios.filter((x) => x >= PG_SHARE).length} of ${ratios.length} rounds at or above)`,
      met: median >= PG_SHARE,
    });
  }
  return { verdicts, ratios, cpuLines };
}

function printProfile(store: string, dir: string): void {
  const file = mainThreadProfile(dir);
  if (file) console.log(`\n${store}:\n${formatProfile(summarizeProfile(file))}\n(profile: ${file})\n`);
  else console.log(`\n${store}: no CPU profile was written in ${dir}`);
}
