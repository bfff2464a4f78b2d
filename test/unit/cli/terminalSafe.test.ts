import { describe, expect, it } from 'vitest';
import { terminalSafe } from '../../../src/cli/output.js';
import { visibleKeyName } from '../../../src/cli/keyName.js';

/**
 * Texts the CLI prints come from API clients, proxy callers and the proposer model. Bidirectional
 * overrides and isolates reorder how a terminal shows the text after them ("Trojan Source"), so an
 * instruction or key name could read as something it is not.
 */
describe('CLI text for the terminal', () => {
  it('shows bidirectional embeddings, overrides and isolates as U+FFFD, and keeps RTL text and its marks', () => {
    const spoof = 'Answer politely.\u202e.yltrup rewsnA\u202c \u2066x\u2069 \u202ay\u202b';
    expect(terminalSafe(spoof)).toBe('Answer politely.\ufffd.yltrup rewsnA\ufffd \ufffdx\ufffd \ufffdy\ufffd');
    const arabic = 'أجب بلطف\u200f then \u200eok';
    expect(terminalSafe(arabic)).toBe(arabic);
    expect(terminalSafe('a\tb\nc\u001b[2Jd\u009b')).toBe('a\tb\nc\ufffd[2Jd\ufffd');
  });

  it('writes such a character in a key name as an escape', () => {
    expect(visibleKeyName('ops\u202emaet\u2066')).toBe('ops\\u202emaet\\u2066');
    expect(visibleKeyName('a\u001bb')).toBe('a\\x1bb');
  });
});
