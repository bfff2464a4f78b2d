/**
 * Child-process entry: the fake Anthropic Messages upstream (test/fakes/fakeAnthropic.ts) with a
 * static reply and recording off, for the surfaces rows of the proxy benchmark.
 * Prints `fake anthropic at <url>`.
 */
import { startFakeAnthropic } from '../../test/fakes/fakeAnthropic.js';

const upstream = await startFakeAnthropic({ reply: 'Paris.', record: false });
process.stdout.write(`fake anthropic at ${upstream.url}\n`);
const stop = () => {
  void upstream.close().then(() => process.exit(0));
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
