import { type ChildProcess, spawn } from 'node:child_process';

/**
 * Child processes for the benchmarks: every server under test (and the load generator) runs in its own
 * process, so none of them shares an event loop with another. A service is "ready" when a line of its
 * stdout matches `ready`; its output is kept (tail only) for the report when something goes wrong.
 */
export interface Service {
  name: string;
  proc: ChildProcess;
  /** The first capture group of the ready pattern (e.g. the URL it listens on). */
  ready: string;
  /** The last few KB of stdout+stderr. */
  output(): string;
  /** SIGTERM (graceful: lets a --cpu-prof child write its profile), SIGKILL after `graceMs`. */
  stop(graceMs?: number): Promise<number | null>;
}

export interface SpawnServiceOptions {
  name: string;
  args: string[];
  env?: Record<string, string>;
  /** Matched against stdout; group 1 is returned as `ready`. */
  ready: RegExp;
  timeoutMs?: number;
  cwd?: string;
}

const TAIL_CHARS = 8_000;

/** Children still running; if this process dies without stopping them, they must not live on. */
const live = new Set<ChildProcess>();
let exitHookInstalled = false;

export function runNode(args: string[], env: Record<string, string> = {}, cwd?: string): ChildProcess {
  const child = spawn(process.execPath, args, {
    cwd,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  live.add(child);
  child.once('exit', () => live.delete(child));
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.once('exit', () => {
      for (const c of live) c.kill('SIGKILL');
    });
  }
  return child;
}

export async function spawnService(o: SpawnServiceOptions): Promise<Service> {
  const proc = runNode(o.args, o.env, o.cwd);
  let tail = '';
  const keep = (d: Buffer) => {
    tail = (tail + d.toString()).slice(-TAIL_CHARS);
  };
  proc.stdout?.on('data', keep);
  proc.stderr?.on('data', keep);
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  const ready = await new Promise<string>((resolve, reject) => {
    let seen = '';
    let settled = false;
    const timer = setTimeout(() => fail(new Error(`${o.name} did not become ready in ${o.timeoutMs ?? 30_000} ms`)), o.timeoutMs ?? 30_000);
    const onData = (d: Buffer) => {
      seen = (seen + d.toString()).slice(-TAIL_CHARS);
      const m = o.ready.exec(seen);
      if (m && !settled) {
        settled = true;
        clearTimeout(timer);
        proc.stdout?.off('data', onData);
        resolve(m[1] ?? m[0]);
      }
    };
    const fail = (err: Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      proc.kill('SIGKILL');
      reject(new Error(`${err.message}\n--- ${o.name} output ---\n${tail}`));
    };
    proc.stdout?.on('data', onData);
    void exited.then((code) => fail(new Error(`${o.name} exited with code ${code} before it was ready`)));
  });
  return {
    name: o.name,
    proc,
    ready,
    output: () => tail,
    stop: async (graceMs = 5_000) => {
      if (proc.exitCode !== null || proc.signalCode !== null) return proc.exitCode;
      proc.kill('SIGTERM');
      const timer = setTimeout(() => proc.kill('SIGKILL'), graceMs);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
}

/** Runs a child to completion and returns its stdout (stderr is appended to errors). */
export function runToCompletion(args: string[], env: Record<string, string> = {}, timeoutMs = 120_000): Promise<string> {
  const proc = runNode(args, env);
  let out = '';
  let err = '';
  proc.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr?.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-TAIL_CHARS)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(new Error(`child timed out after ${timeoutMs} ms\n${err}`));
    }, timeoutMs);
    proc.once('exit', (code) => {
      clearTimeout(timer);
      if (code === 0) resolve(out);
      else reject(new Error(`child exited with code ${code}\n${err}`));
    });
  });
}
