import { readdirSync, readFileSync } from 'node:fs';

/**
 * CPU time a process has used (user + system), from /proc/<pid>/stat. On a shared 2-core machine
 * wall-clock throughput moves with the neighbours' load; CPU milliseconds per request move much less,
 * so the benchmark reports both. Linux only: elsewhere (or if the process is gone) it returns null.
 */
const TICKS_PER_SECOND = 100; // USER_HZ; fixed at 100 on Linux for /proc accounting

export function processCpuMs(pid: number | undefined): number | null {
  if (pid === undefined) return null;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may contain spaces and parentheses: fields after the last ')' are fixed.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const utime = Number(fields[11]);
    const stime = Number(fields[12]);
    return Number.isFinite(utime) && Number.isFinite(stime) ? ((utime + stime) * 1000) / TICKS_PER_SECOND : null;
  } catch {
    return null;
  }
}

/** CPU ms used by each named process between `start()` and `stop()`. */
export function cpuMeter(pids: Record<string, number | undefined>) {
  const before = Object.fromEntries(Object.entries(pids).map(([name, pid]) => [name, processCpuMs(pid)]));
  return {
    stop(): Record<string, number | null> {
      return Object.fromEntries(
        Object.entries(pids).map(([name, pid]) => {
          const now = processCpuMs(pid);
          const then = before[name];
          return [name, now !== null && then !== null && then !== undefined ? now - then : null];
        }),
      );
    },
  };
}

/**
 * CPU ms used between `start` and `stop()` by the PostgreSQL server processes on this machine
 * (postmaster, backends, WAL writer...), per process so that backends which come and go do not
 * count their earlier life. On a shared machine this includes other sessions' queries: an upper bound.
 */
export function postgresCpuMeter(): { stop(): number } {
  const before = postgresProcesses();
  return {
    stop() {
      let total = 0;
      for (const [pid, ms] of postgresProcesses()) total += ms - (before.get(pid) ?? 0);
      return total;
    },
  };
}

function postgresProcesses(): Map<number, number> {
  const out = new Map<number, number>();
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      if (readFileSync(`/proc/${pid}/comm`, 'utf8').trim() !== 'postgres') continue;
    } catch {
      continue;
    }
    const ms = processCpuMs(Number(pid));
    if (ms !== null) out.set(Number(pid), ms);
  }
  return out;
}

/**
 * CPU ms used between `start` and `stop()` by the PostgreSQL backends serving one client, found by
 * its application_name (the server under test gets PGAPPNAME): the database's share of a request,
 * without the other sessions on a shared machine. Backends opened meanwhile count from their start.
 */
export async function backendCpuMeter(query: (sql: string, values: unknown[]) => Promise<{ rows: { pid: number }[] }>, appName: string): Promise<{ stop(): Promise<number> }> {
  const pids = async () => (await query('select pid from pg_stat_activity where application_name = $1', [appName])).rows.map((r) => r.pid);
  const before = new Map((await pids()).map((pid) => [pid, processCpuMs(pid) ?? 0]));
  return {
    async stop() {
      let total = 0;
      for (const pid of await pids()) total += (processCpuMs(pid) ?? 0) - (before.get(pid) ?? 0);
      return total;
    },
  };
}

/**
 * The whole machine's busy and idle CPU ms between `start` and `stop()` (/proc/stat, all cores):
 * on a shared 2-core machine it says whether a row was CPU-bound (idle near 0) and, per request,
 * what everything together (load generator, balancer, instances, database, upstream) paid.
 */
export function machineCpuMeter(): { stop(): { busyMs: number; idleMs: number } | null } {
  const read = (): { busy: number; idle: number } | null => {
    try {
      const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
      // user nice system idle iowait irq softirq steal (guest time is already in user)
      const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = fields;
      return { busy: user + nice + system + irq + softirq + steal, idle: idle + iowait };
    } catch {
      return null;
    }
  };
  const before = read();
  return {
    stop() {
      const after = read();
      if (!before || !after) return null;
      return { busyMs: ((after.busy - before.busy) * 1000) / TICKS_PER_SECOND, idleMs: ((after.idle - before.idle) * 1000) / TICKS_PER_SECOND };
    },
  };
}
