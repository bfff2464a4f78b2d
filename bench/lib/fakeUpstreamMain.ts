/**
 * Child-process entry: the fake OpenAI upstream (test/fakes/fakeUpstream.ts) with a static JSON reply
 * and recording off, so its per-request cost is a cached buffer write. Prints `fake upstream at <url>`.
 */
import { startFakeUpstream } from '../../test/fakes/fakeUpstream.js';

const upstream = await startFakeUpstream({ record: false, reply: 'Paris.' });
process.stdout.write(`fake upstream at ${upstream.url}\n`);
const stop = () => {
  void upstream.close().then(() => process.exit(0));
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
