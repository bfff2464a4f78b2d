import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LoadResult, LoadSpec } from './loadClient.js';
import { runToCompletion } from './processes.js';

const WORKER = join(import.meta.dirname, 'loadWorker.ts');
/** A spec longer than this goes through a file: one argument may hold at most 128 KiB on Linux. */
const MAX_ARG_CHARS = 64 * 1024;

/** Runs a LoadSpec in a separate Node process (see loadWorker.ts) and returns its result. */
export async function runLoadInChild(spec: LoadSpec, timeoutMs = 120_000): Promise<LoadResult> {
  const json = JSON.stringify(spec);
  const dir = json.length > MAX_ARG_CHARS ? mkdtempSync(join(tmpdir(), 'miprox-load-')) : null;
  let arg = json;
  if (dir) {
    arg = `@${join(dir, 'spec.json')}`;
    writeFileSync(arg.slice(1), json);
  }
  try {
    const out = await runToCompletion(['--import', 'tsx', WORKER, arg], {}, timeoutMs);
    const line = out.split('\n').find((l) => l.startsWith('RESULT '));
    if (!line) throw new Error(`load worker printed no result:\n${out.slice(-2000)}`);
    return JSON.parse(line.slice('RESULT '.length)) as LoadResult;
  } finally {
    if (dir) rmSync(dir, { recursive: true, force: true });
  }
}
