import { spawn } from 'node:child_process';
import { join } from 'node:path';

const BIN = join(import.meta.dirname, '..', '..', 'bin', 'miprox.js');

export interface LiveCli {
  stdout: () => string;
  /** Resolves once stdout matches `pattern` (rejects if the process exits first). */
  waitForOutput(pattern: RegExp, timeoutMs?: number): Promise<void>;
  exit: Promise<{ code: number | null; stdout: string; stderr: string }>;
  kill(signal: NodeJS.Signals): void;
}

/** Runs the CLI as a child process and lets the test watch its output while it runs (for `jobs watch`). */
export function spawnCli(args: string[], env: Record<string, string>): LiveCli {
  const proc = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  proc.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  proc.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exit = new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    proc.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
  const waitForOutput = (pattern: RegExp, timeoutMs = 60_000) => new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no output matching ${pattern} in ${timeoutMs} ms:\n${stdout}${stderr}`)), timeoutMs);
    const check = () => {
      if (!pattern.test(stdout)) return;
      clearTimeout(timer);
      resolve();
    };
    proc.stdout.on('data', check);
    void exit.then(() => {
      clearTimeout(timer);
      if (pattern.test(stdout)) resolve();
      else reject(new Error(`exited before output matched ${pattern}:\n${stdout}${stderr}`));
    });
    check();
  });
  return { stdout: () => stdout, waitForOutput, exit, kill: (signal) => proc.kill(signal) };
}
