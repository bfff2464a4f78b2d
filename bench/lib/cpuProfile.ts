import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Summarises a V8 `.cpuprofile` (node --cpu-prof) over the time the thread was busy (idle excluded):
 * self time grouped by where the code lives (a package under node_modules, a src/ folder, node
 * internals), the top functions by self time, and the top miprox (src/) functions by inclusive time,
 * which is what tells whose code to optimise and which of our calls pays for it.
 */
interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileRow { name: string; ms: number; share: number }

export interface ProfileSummary {
  busyMs: number;
  idleMs: number;
  byModule: ProfileRow[];
  topSelf: ProfileRow[];
  topInclusiveSrc: ProfileRow[];
}

/** Where a script lives, coarsely: `undici`, `src/proxy/`, `node:internal`, `(garbage collector)`, ... */
export function moduleOf(url: string, functionName: string): string {
  if (url === '') return functionName.startsWith('(') ? functionName : '(native)';
  const nm = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (nm?.[1]) return nm[1];
  const src = /\/(src|bench|test)\/([^/]+)/.exec(url);
  if (src?.[1] && src[2]) return src[2].endsWith('.ts') ? `${src[1]}/${src[2]}` : `${src[1]}/${src[2]}/`;
  if (url.startsWith('node:internal')) return 'node:internal';
  return url;
}

function frameName(n: ProfileNode): string {
  const { functionName, url, lineNumber } = n.callFrame;
  const file = url.replace(/^file:\/\//, '').replace(/^.*\/(node_modules|src|bench|test)\//, '$1/');
  return `${functionName || '(anonymous)'} ${file ? `${file}:${lineNumber + 1}` : ''}`.trim();
}

export function summarizeProfile(path: string, top = 20): ProfileSummary {
  const profile = JSON.parse(readFileSync(path, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const selfUs = new Map<number, number>();
  profile.samples.forEach((id, i) => selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));

  const self = new Map<string, number>();
  const mod = new Map<string, number>();
  const inclusive = new Map<string, number>();
  let busy = 0;
  let idle = 0;
  for (const [id, us] of selfUs) {
    const node = byId.get(id);
    if (!node) continue;
    if (node.callFrame.functionName === '(idle)') {
      idle += us;
      continue;
    }
    busy += us;
    const name = frameName(node);
    self.set(name, (self.get(name) ?? 0) + us);
    const m = moduleOf(node.callFrame.url, node.callFrame.functionName);
    mod.set(m, (mod.get(m) ?? 0) + us);
    // Inclusive time of our own functions: each distinct src/ frame on the stack gets the sample once.
    const seen = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const frame = byId.get(cur);
      if (!frame || !/\/src\//.test(frame.callFrame.url)) continue;
      const fname = frameName(frame);
      if (seen.has(fname)) continue;
      seen.add(fname);
      inclusive.set(fname, (inclusive.get(fname) ?? 0) + us);
    }
  }
  const rows = (m: Map<string, number>) =>
    [...m.entries()].sort((a, b) => b[1] - a[1]).slice(0, top).map(([name, us]) => ({ name, ms: us / 1000, share: busy ? us / busy : 0 }));
  return { busyMs: busy / 1000, idleMs: idle / 1000, byModule: rows(mod), topSelf: rows(self), topInclusiveSrc: rows(inclusive) };
}

export function formatProfile(s: ProfileSummary): string {
  const fmt = (r: ProfileRow) => `${(r.share * 100).toFixed(1).padStart(5)}%  ${r.ms.toFixed(0).padStart(6)} ms  ${r.name}`;
  return [
    `CPU profile of the miprox main thread: busy ${s.busyMs.toFixed(0)} ms, idle ${s.idleMs.toFixed(0)} ms (shares are of busy time; startup included)`,
    'self time by module:',
    ...s.byModule.map(fmt),
    'top functions by self time:',
    ...s.topSelf.map(fmt),
    'miprox (src/) functions by inclusive time:',
    ...s.topInclusiveSrc.map(fmt),
  ].join('\n');
}

/** The main thread's profile in a --cpu-prof-dir (one file per thread; the main thread's id is 0: CPU.<date>.<time>.<pid>.0.<seq>), or null. */
export function mainThreadProfile(dir: string): string | null {
  const files = readdirSync(dir).filter((f) => f.endsWith('.cpuprofile'));
  const file = files.find((f) => /\.\d+\.0\.\d+\.cpuprofile$/.test(f)) ?? files[0];
  return file === undefined ? null : join(dir, file);
}
