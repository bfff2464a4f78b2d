/**
 * Word-level diff (longest common subsequence) between a parent instruction and its child, for the
 * proposals timeline. Whitespace runs are tokens too, so the output reproduces both texts exactly:
 * joining `equal`+`delete` parts gives the parent, `equal`+`insert` parts gives the child.
 */
export type DiffOp = 'equal' | 'insert' | 'delete';
export interface DiffPart { op: DiffOp; text: string }

/** Above this many LCS cells (~16 MB of table) the diff degrades to "all deleted, all inserted". */
const MAX_CELLS = 4_000_000;

export function tokenize(text: string): string[] {
  return text.match(/\s+|[^\s]+/g) ?? [];
}

export function wordDiff(before: string, after: string): DiffPart[] {
  const a = tokenize(before);
  const b = tokenize(after);
  // Common prefix and suffix are cheap to peel off and are most of a typical edit.
  let start = 0;
  while (start < a.length && start < b.length && a[start] === b[start]) start++;
  let endA = a.length;
  let endB = b.length;
  while (endA > start && endB > start && a[endA - 1] === b[endB - 1]) {
    endA--;
    endB--;
  }
  const parts: DiffPart[] = [];
  push(parts, 'equal', a.slice(0, start));
  for (const p of middleDiff(a.slice(start, endA), b.slice(start, endB))) push(parts, p.op, [p.text]);
  push(parts, 'equal', a.slice(endA));
  return coalesce(parts);
}

/**
 * Readability: a change run interrupted only by spaces ("<del>a</del> <ins>b</ins> <del>c</del>") is
 * shown as one deletion followed by one insertion. Both texts still reconstruct exactly.
 */
function coalesce(parts: DiffPart[]): DiffPart[] {
  const out: DiffPart[] = [];
  let del = '';
  let ins = '';
  const flush = () => {
    if (del) out.push({ op: 'delete', text: del });
    if (ins) out.push({ op: 'insert', text: ins });
    del = '';
    ins = '';
  };
  parts.forEach((p, k) => {
    const inRun = del !== '' || ins !== '';
    const next = parts[k + 1];
    if (p.op === 'delete') del += p.text;
    else if (p.op === 'insert') ins += p.text;
    else if (inRun && next && next.op !== 'equal' && /^\s+$/.test(p.text)) {
      del += p.text;
      ins += p.text;
    } else {
      flush();
      out.push(p);
    }
  });
  flush();
  return out;
}

function middleDiff(a: string[], b: string[]): DiffPart[] {
  const n = a.length;
  const m = b.length;
  if (n === 0 || m === 0 || (n + 1) * (m + 1) > MAX_CELLS) {
    const out: DiffPart[] = [];
    push(out, 'delete', a);
    push(out, 'insert', b);
    return out;
  }
  // lcs[i][j] = LCS length of a[i..] and b[j..], flattened row-major.
  const w = m + 1;
  const lcs = new Uint32Array((n + 1) * w);
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      lcs[i * w + j] = a[i] === b[j] ? (lcs[(i + 1) * w + j + 1] ?? 0) + 1 : Math.max(lcs[(i + 1) * w + j] ?? 0, lcs[i * w + j + 1] ?? 0);
    }
  }
  const out: DiffPart[] = [];
  let i = 0;
  let j = 0;
  while (i < n && j < m) {
    if (a[i] === b[j]) {
      push(out, 'equal', [a[i] ?? '']);
      i++;
      j++;
    } else if ((lcs[(i + 1) * w + j] ?? 0) >= (lcs[i * w + j + 1] ?? 0)) {
      push(out, 'delete', [a[i] ?? '']);
      i++;
    } else {
      push(out, 'insert', [b[j] ?? '']);
      j++;
    }
  }
  push(out, 'delete', a.slice(i));
  push(out, 'insert', b.slice(j));
  return out;
}

/** Appends tokens, merging with the previous part when it has the same op. */
function push(parts: DiffPart[], op: DiffOp, tokens: string[]): void {
  if (tokens.length === 0) return;
  const text = tokens.join('');
  const last = parts[parts.length - 1];
  if (last && last.op === op) last.text += text;
  else parts.push({ op, text });
}

/**
 * The diffs of one rendering of the proposals timeline, kept for the next one. The timeline is drawn
 * again whenever a candidate's mean moves, which on a live job is every poll; each diff was computed
 * again each time: 150 children of 400-word instructions (an LCS of ~640,000 cells each) blocked the
 * page for 2 to 3.5 s every 2 s poll. Texts do not change, so a pair's diff is computed once; pairs a
 * rendering did not show are let go, so memory stays that of one rendering.
 */
export class DiffMemo {
  private last = new Map<string, DiffPart[]>();
  private next = new Map<string, DiffPart[]>();

  constructor(private readonly diff: (before: string, after: string) => DiffPart[] = wordDiff) {}

  get(before: string, after: string): DiffPart[] {
    // The length prefix keeps ("ab", "c") and ("a", "bc") apart.
    const key = `${before.length}:${before}${after}`;
    const parts = this.next.get(key) ?? this.last.get(key) ?? this.diff(before, after);
    this.next.set(key, parts);
    return parts;
  }

  /** A rendering is done: the diffs it used are the ones kept. */
  done(): void {
    this.last = this.next;
    this.next = new Map();
  }
}

/** Words added and removed, for a one-line summary ("+12 −3 words"). */
export function diffStats(parts: readonly DiffPart[]): { added: number; removed: number } {
  const words = (t: string) => tokenize(t).filter((x) => /\S/.test(x)).length;
  let added = 0;
  let removed = 0;
  for (const p of parts) {
    if (p.op === 'insert') added += words(p.text);
    else if (p.op === 'delete') removed += words(p.text);
  }
  return { added, removed };
}
