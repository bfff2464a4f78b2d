import { describe, expect, it } from 'vitest';
import { spliceMarked, withLaterSections } from '../docSections.js';

const doc = [
  '# Optimizer benchmark', '', 'old single-prompt tables', '',
  '<!-- pipeline-3:start -->', 'pipeline', '<!-- pipeline-3:end -->', '', 'notes between', '',
  '<!-- worlds:start -->', 'worlds', '<!-- worlds:end -->', '',
].join('\n');

describe('benchmark document parts', () => {
  it('new single-prompt tables keep every marked section and the text between them', () => {
    const out = withLaterSections('# Optimizer benchmark\n\nnew single-prompt tables\n', doc);
    expect(out).toBe(doc.replace('old single-prompt tables', 'new single-prompt tables'));
    expect(withLaterSections('# Only tables\n', '# Optimizer benchmark\n')).toBe('# Only tables\n');
  });

  it('a marked section replaces its own text only, or is appended when missing', () => {
    const out = spliceMarked(doc, '<!-- worlds:start -->', '<!-- worlds:end -->', '<!-- worlds:start -->\nnew worlds\n<!-- worlds:end -->\n');
    expect(out).toBe(doc.replace('\nworlds\n', '\nnew worlds\n'));
    expect(spliceMarked('# Doc\n', '<!-- x:start -->', '<!-- x:end -->', '<!-- x:start -->\nx\n<!-- x:end -->\n')).toBe('# Doc\n\n<!-- x:start -->\nx\n<!-- x:end -->\n');
  });
});
