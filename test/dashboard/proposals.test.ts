import { describe, expect, it } from 'vitest';
import { changeSummary, demoSetNote, olderNote, proposerAnswer } from '../../web/src/components/proposals.js';

describe('proposals timeline: what a child changed', () => {
  it('counts the words an instruction proposal changed', () => {
    expect(changeSummary(7, 0, 0)).toBe('+7 −0 words');
    expect(changeSummary(3, 2, 0)).toBe('+3 −2 words');
  });

  it('says a demo-set child kept the text and brings demos, instead of "+0 −0 words"', () => {
    // A demo-set proposal (tip: demos) keeps the module's text: its children differ by their demos only.
    expect(changeSummary(0, 0, 2)).toBe('same instruction · 2 demos');
    expect(changeSummary(0, 0, 1)).toBe('same instruction · 1 demo');
    expect(changeSummary(4, 1, 2)).toBe('+4 −1 words · 2 demos');
  });
});

describe('proposals timeline: the proposer\'s answer', () => {
  it('says a succeeded proposal\'s prompt and answer were cleared by retention, not that there was no answer', () => {
    // RETENTION_DAYS turns prompt into [] and response into null; the candidates stay.
    expect(proposerAnswer({ status: 'succeeded', prompt: [], response: null, error: null })).toMatch(/^\(cleared: .*RETENTION_DAYS\)$/);
    expect(proposerAnswer({ status: 'succeeded', prompt: [{ role: 'user', content: 'x' }], response: 'Be brief.', error: null })).toBe('Be brief.');
    expect(proposerAnswer({ status: 'failed', prompt: [], response: null, error: 'timeout' })).toBe('(no answer: timeout)');
  });
});

describe('proposals timeline: proposals not loaded yet', () => {
  it('names the older proposals below the oldest loaded, and says nothing when the list starts at #1', () => {
    const seqs = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, k) => ({ seq: to - k }));
    expect(olderNote(seqs(1, 40))).toBe('');
    expect(olderNote([])).toBe('');
    expect(olderNote(seqs(2, 51))).toBe('Showing the newest 50 proposals (#2 to #51); the oldest one (#1) is not loaded yet.');
    expect(olderNote(seqs(235, 1234))).toBe('Showing the newest 1,000 proposals (#235 to #1,234); the 234 older ones (#1 to #234) are not loaded yet.');
  });
});

describe('proposals timeline: a demo-set proposal', () => {
  it('says how the set was drawn and that no model was called, also once retention cleared the note', () => {
    const note = 'demo-set proposal for module answer: 2 new set(s) from a pool of 38 demo(s); no model call';
    expect(demoSetNote({ prompt: [{ role: 'system', content: note }] })).toBe('Demo-set proposal for module answer: 2 new set(s) from a pool of 38 demo(s); no model call.');
    expect(demoSetNote({ prompt: [] })).toBe('Demo-set proposal: demos drawn from rewarded rollouts; no model call.');
  });
});
