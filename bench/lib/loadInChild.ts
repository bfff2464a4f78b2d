import { join } from 'node:path';
import type { LoadResult, LoadSpec } from './loadClient.js';
import { runToCompletion } from './processes.js';

const WORKER = join(import.meta.dirname, 'loadWorker.ts');

/** Runs a LoadSpec in a separate Node process (see loadWorker.ts) and returns its result. */
export async function runLoadInChild(spec: LoadSpec, timeoutMs = 120_000): Promise<LoadResult> {
  const out = await runToCompletion(['--import', 'tsx', WORKER, JSON.stringify(spec)], {}, timeoutMs);
  const line = out.split('\n').find((l) => l.startsWith('RESULT '));
  if (!line) throw new Error(`load worker printed no result:\n${out.slice(-2000)}`);
  return JSON.parse(line.slice('RESULT '.length)) as LoadResult;
}
