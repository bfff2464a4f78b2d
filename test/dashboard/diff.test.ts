import { describe, expect, it } from 'vitest';
import { DiffMemo, diffStats, tokenize, wordDiff, type DiffPart } from '../../web/src/diff.js';

const side = (parts: DiffPart[], keep: 'insert' | 'delete') => parts.filter((p) => p.op === 'equal' || p.op === keep).map((p) => p.text).join('');

describe('word diff (proposals timeline)', () => {
  it('marks replaced, added and removed words', () => {
    const parts = wordDiff('Classify the query into an intent.', 'Classify the customer query into one intent.');
    expect(parts).toEqual([
      { op: 'equal', text: 'Classify the ' },
      { op: 'insert', text: 'customer ' },
      { op: 'equal', text: 'query into ' },
      { op: 'delete', text: 'an' },
      { op: 'insert', text: 'one' },
      { op: 'equal', text: ' intent.' },
    ]);
    expect(diffStats(parts)).toEqual({ added: 2, removed: 1 });
  });

  it('merges a change run broken only by spaces into one deletion and one insertion', () => {
    const parts = wordDiff('keep a b c keep', 'keep x y z keep');
    expect(parts).toEqual([
      { op: 'equal', text: 'keep ' },
      { op: 'delete', text: 'a b c' },
      { op: 'insert', text: 'x y z' },
      { op: 'equal', text: ' keep' },
    ]);
  });

  it('handles empty sides and identical texts', () => {
    expect(wordDiff('', 'new text')).toEqual([{ op: 'insert', text: 'new text' }]);
    expect(wordDiff('old text', '')).toEqual([{ op: 'delete', text: 'old text' }]);
    expect(wordDiff('same\nlines', 'same\nlines')).toEqual([{ op: 'equal', text: 'same\nlines' }]);
    expect(wordDiff('', '')).toEqual([]);
  });

  it('reconstructs both texts exactly, whitespace and newlines included', () => {
    // A seeded generator: the property holds for many random edits, not a hand-picked few.
    let state = 7;
    const rand = (n: number) => {
      state = (state * 1103515245 + 12345) % 2147483648;
      return state % n;
    };
    const words = ['label', 'intent', 'only', 'the', 'a', 'card_lost', 'Answer', '\n', '  ', 'customer.'];
    const text = (n: number) => Array.from({ length: n }, () => words[rand(words.length)]).join(rand(3) === 0 ? '\n' : ' ');
    for (let k = 0; k < 200; k++) {
      const a = text(rand(30));
      const b = text(rand(30));
      const parts = wordDiff(a, b);
      expect(side(parts, 'delete')).toBe(a);
      expect(side(parts, 'insert')).toBe(b);
      // Parts are merged: no two neighbours have the same op.
      for (let i = 1; i < parts.length; i++) expect(parts[i]?.op === parts[i - 1]?.op).toBe(false);
    }
  });

  it('degrades to delete-all/insert-all beyond the size limit instead of hanging', () => {
    const a = Array.from({ length: 2500 }, (_, i) => `a${i}`).join(' ');
    const b = Array.from({ length: 2500 }, (_, i) => `b${i}`).join(' ');
    const parts = wordDiff(a, b);
    expect(parts.map((p) => p.op)).toEqual(['delete', 'insert']);
    expect(tokenize('a  b\nc')).toEqual(['a', '  ', 'b', '\n', 'c']);
  });
});

describe('diffs kept from one rendering of the proposals timeline to the next', () => {
  const counting = () => {
    const calls: Array<[string, string]> = [];
    const memo = new DiffMemo((a, b) => {
      calls.push([a, b]);
      return wordDiff(a, b);
    });
    return { memo, calls };
  };

  it('computes a pair\'s diff once while it stays shown, not at every poll that redraws the timeline', () => {
    const { memo, calls } = counting();
    const first = memo.get('Answer briefly.', 'Answer briefly and politely.');
    expect(first).toEqual(wordDiff('Answer briefly.', 'Answer briefly and politely.'));
    memo.get('Answer briefly.', 'Answer briefly and politely.');
    memo.done();
    // The next poll: a candidate's mean moved, the texts did not.
    expect(memo.get('Answer briefly.', 'Answer briefly and politely.')).toBe(first);
    memo.done();
    expect(calls).toHaveLength(1);
  });

  it('lets go of the pairs a rendering did not show, and keeps two pairs that join to the same text apart', () => {
    const { memo, calls } = counting();
    memo.get('ab', 'c');
    memo.done();
    memo.get('a', 'bc');
    memo.done();
    expect(calls).toHaveLength(2);
    // ('ab', 'c') was not shown by the last rendering: computed again.
    memo.get('ab', 'c');
    expect(calls).toHaveLength(3);
  });
});
