/**
 * docs/optimizer-benchmark.md is written by parts: the single-prompt tables at the top, then marked
 * sections (`<!-- name:start -->` ... `<!-- name:end -->`: pipeline-3, stop rule, demos, worlds), each
 * rewritten by its own `--only` run. A part's run must replace its own text and keep everyone else's.
 */

const FIRST_MARKED_SECTION = /^<!-- [\w-]+:start -->$/m;

/** The section (which carries its markers) in place of the one between `start` and `end`; appended when the document has none. */
export function spliceMarked(doc: string, start: string, end: string, section: string): string {
  const from = doc.indexOf(start);
  const to = doc.indexOf(end);
  if (from < 0 || to < from) return `${doc.trimEnd()}\n\n${section}`;
  return doc.slice(0, from) + section.trimEnd() + doc.slice(to + end.length);
}

/**
 * The single-prompt tables (`head`, everything before the first marked section) in place of the
 * existing document's, keeping its marked sections and the text between them.
 */
export function withLaterSections(head: string, existing: string): string {
  const at = existing.search(FIRST_MARKED_SECTION);
  return at < 0 ? head : `${head.trimEnd()}\n\n${existing.slice(at)}`;
}
