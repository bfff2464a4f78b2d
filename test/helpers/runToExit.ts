import { spawn } from 'node:child_process';

export interface ExitedProcess { code: number | null; stdout: string; stderr: string }

/**
 * Runs `command` as a child process (no stdin; `env` added to this process's environment) and
 * resolves once it exits, with its exit code and all it printed: for tests that run an example the
 * way a user does.
 */
export function runToExit(command: string, args: readonly string[], opts: { cwd: string; env: Record<string, string> }): Promise<ExitedProcess> {
  return new Promise((resolve) => {
    const proc = spawn(command, args, { cwd: opts.cwd, env: { ...process.env, ...opts.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    proc.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    proc.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    proc.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}
