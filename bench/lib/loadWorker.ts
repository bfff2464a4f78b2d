/**
 * Child-process entry of the concurrent load generator: `node --import tsx bench/lib/loadWorker.ts '<LoadSpec JSON>'`.
 * Runs in its own process so that generating load does not steal the event loop of the server under
 * test; prints one line `RESULT <LoadResult JSON>`.
 */
import { runLoad, type LoadSpec } from './loadClient.js';

const spec = JSON.parse(process.argv[2] ?? '{}') as LoadSpec;
const result = await runLoad(spec);
process.stdout.write(`RESULT ${JSON.stringify(result)}\n`);
