/**
 * Child-process entry of the concurrent load generator: `node --import tsx bench/lib/loadWorker.ts '<LoadSpec JSON>'`
 * (or `@<file holding it>` for a spec too long for an argument).
 * Runs in its own process so that generating load does not steal the event loop of the server under
 * test; prints one line `RESULT <LoadResult JSON>`.
 */
import { readFileSync } from 'node:fs';
import { runLoad, type LoadSpec } from './loadClient.js';

const arg = process.argv[2] ?? '{}';
const spec = JSON.parse(arg.startsWith('@') ? readFileSync(arg.slice(1), 'utf8') : arg) as LoadSpec;
const result = await runLoad(spec);
process.stdout.write(`RESULT ${JSON.stringify(result)}\n`);
