import { DiffMemo, diffStats } from '../diff.js';
import { h, replaceChildren, setText } from '../dom.js';
import { fmtAge, fmtCount, fmtDateTime, fmtScore } from '../format.js';
import { changedText } from '../program.js';
import type { PagedList } from '../pagedList.js';
import type { CandidateView, ProposalView } from '../types.js';
import { LoadMore } from './loadMore.js';
import { demoList, instructionText, moduleChip } from './programView.js';
import { statusBadge } from './statusBadge.js';

/**
 * The proposals timeline, newest first: which tip was used, which parent was improved on, and what each
 * new instruction changed, word by word (<del>/<ins>). In a program a proposal changes one module:
 * the item names it, and the diff compares that module's text in the parent and the child.
 * The newest page comes first; "Load older proposals" under the list adds the next one.
 */
export class ProposalsTimeline {
  readonly el: HTMLElement;
  private readonly list = h('ol', { class: 'timeline', reversed: true });
  private readonly note = h('p', { class: 'muted' });
  /** Under the list while older proposals are not loaded: which ones, and the button that loads them. */
  private readonly older = h('p', { class: 'muted proposals-older', hidden: true });
  private readonly more: LoadMore<ProposalView>;
  private readonly error = h('p', { class: 'error-text', role: 'alert' });
  private signature = '';
  /** The signature without the children's numbers: when only those moved, the timeline is not drawn again. */
  private layout = '';
  /** Each child's line of numbers, and the change summary it starts with ("+4 −1 words"). */
  private readonly childLines = new Map<string, { el: HTMLElement; change: string }>();
  private program = false;
  /** Decimals of the job's scores (scoreDigits of its reward_range). */
  private digits = 3;
  private readonly diffs = new DiffMemo();

  /**
   * `jobId`: the job (its demos link to their rollouts); `pages`: the job's proposals as the feed pages them; `loaded`: an older page came in (the page
   * renders the timeline again); `failed`: it could not be read (a 401 is the page's to handle).
   */
  constructor(private readonly jobId: string, private readonly pages: PagedList<ProposalView>, opts: { loaded: () => void; failed: (err: unknown) => boolean }) {
    this.more = new LoadMore('Load older proposals', pages, {
      loaded: () => {
        this.error.textContent = '';
        opts.loaded();
      },
      failed: (err) => {
        if (!opts.failed(err)) this.error.textContent = `Could not load older proposals: ${err instanceof Error ? err.message : String(err)}`;
      },
      focusTarget: (p) => this.list.querySelector<HTMLElement>(`li[data-proposal="${CSS.escape(p.proposal_id)}"] h3`),
    });
    this.el = h('section', { class: 'panel', 'aria-labelledby': 'proposals-title' },
      h('h2', { id: 'proposals-title' }, 'Proposals'),
      this.note,
      this.list,
      h('div', { class: 'proposals-more' }, this.older, this.more.el),
      this.error);
  }

  /**
   * "2 min ago" is only true when it is written: the list is redrawn when proposals change, so a quiet
   * job kept "just now" for hours. The page calls this on a timer; only the age texts change.
   */
  refreshAges(now: number = Date.now()): void {
    for (const t of Array.from(this.list.querySelectorAll<HTMLTimeElement>('time[datetime]'))) {
      const text = fmtAge(t.dateTime, now);
      if (t.textContent !== text) t.textContent = text;
    }
  }

  setUnavailable(): void {
    this.note.textContent = 'This server does not list proposals.';
  }

  /** `program`: the job has several modules (one-module jobs keep the layout without module names). */
  update(proposals: readonly ProposalView[], candidates: readonly CandidateView[], colors: Map<string, string>, program = false, digits = 3): void {
    const more = this.pages.hasMore;
    // The prompt and answer count too: RETENTION_DAYS clears them, and nothing else changes.
    const layout = JSON.stringify([program, digits, more, proposals.map((p) => [p.proposal_id, p.status, p.candidate_ids, p.finished_at, p.prompt.length, p.response === null]), candidates.map((c) => c.candidate_id)]);
    const signature = JSON.stringify([layout, candidates.map((c) => [c.avg_reward, c.reward_count, c.status])]);
    if (signature === this.signature) return;
    this.signature = signature;
    const byId = new Map(candidates.map((c) => [c.candidate_id, c]));
    if (layout === this.layout) {
      // Only children's means, counts or statuses moved, as at every poll of a live job: drawn again,
      // the timeline dropped keyboard focus on one of its toggles to the page and cleared a text
      // selection in a diff every 2 s. Those lines are rewritten in place.
      for (const [id, line] of this.childLines) {
        const child = byId.get(id);
        if (child) setText(line.el, this.childStats(line.change, child));
      }
      return;
    }
    this.layout = layout;
    this.childLines.clear();
    this.program = program;
    this.digits = digits;
    this.note.textContent = proposals.length === 0 ? 'No proposals yet: the proposer runs after enough rewards arrive.' : '';
    const opened = new Set(Array.from(this.list.querySelectorAll<HTMLDetailsElement>('details[open]'), (d) => d.dataset.key));
    replaceChildren(this.list, ...proposals.map((p) => this.item(p, byId, colors, opened)));
    this.diffs.done();
    const left = more ? olderNote(proposals) : '';
    this.older.textContent = left;
    this.older.hidden = left === '';
    this.more.sync();
  }

  /** "+4 −1 words · mean 0.600 (n=5) · active". */
  private childStats(change: string, c: CandidateView): string {
    return `${change} · mean ${fmtScore(c.avg_reward, this.digits)} (n=${c.reward_count}) · ${c.status}`;
  }

  private item(p: ProposalView, byId: Map<string, CandidateView>, colors: Map<string, string>, opened: Set<string | undefined>): HTMLLIElement {
    const parent = byId.get(p.parent_id);
    const children = p.candidate_ids.map((id) => {
      const child = byId.get(id);
      if (!child) return h('p', { class: 'muted' }, `Candidate ${id} (not loaded)`);
      const parts = this.diffs.get(parent ? changedText(parent, p.module) : '', changedText(child, p.module));
      const { added, removed } = diffStats(parts);
      const demos = p.module !== null ? (child.demos?.[p.module]?.length ?? 0) : 0;
      const diff = h('p', { class: 'diff', dir: 'auto', 'aria-label': `Changes from ${p.parent_id} to ${id}` },
        ...parts.map((part) => part.op === 'equal' ? part.text : h(part.op === 'insert' ? 'ins' : 'del', {}, part.text)));
      const change = changeSummary(added, removed, demos);
      const stats = h('span', { class: 'muted' }, this.childStats(change, child));
      this.childLines.set(id, { el: stats, change });
      return h('div', { class: 'proposal-child' },
        h('p', { class: 'child-head' },
          h('span', { class: 'swatch', style: `background:${colors.get(id) ?? '#888'}`, 'aria-hidden': 'true' }),
          h('code', {}, id), ' ',
          stats),
        // A child that kept the parent's text (a demo set) showed that whole text again as a "diff"
        // with nothing marked; the line above says "same instruction", the parent's text is below.
        added === 0 && removed === 0 ? null : diff,
        demos > 0 ? demoList(child, this.jobId) : null);
    });
    const body = p.status === 'failed'
      ? [h('p', { class: 'error-text' }, `Failed: ${p.error ?? 'unknown error'}`)]
      : p.status === 'running'
        ? [h('p', { class: 'muted' }, 'Proposing…')]
        : children.length > 0 ? children : [h('p', { class: 'muted' }, 'No new instruction (duplicates or unusable output).')];
    const module = this.program ? p.module : null;
    const parentLine = parent
      ? h('details', { 'data-key': `parent-${p.proposal_id}`, open: opened.has(`parent-${p.proposal_id}`) },
        h('summary', {}, module ? `Parent instruction of ${module}` : 'Parent instruction'),
        instructionText(changedText(parent, p.module)))
      : null;
    const key = `io-${p.proposal_id}`;
    // A demo-set proposal calls no model: its one-message "prompt" is a note saying how the set was
    // drawn. Under "Proposer prompt and answer" it read as a prompt the proposer left with "(no answer)".
    const demoSet = p.tip === DEMO_SET_TIP;
    const io = p.status === 'running' || demoSet ? null : h('details', { class: 'proposer-io', 'data-key': key, open: opened.has(key) },
      h('summary', {}, 'Proposer prompt and answer'),
      ...promptMessages(p.prompt).map((m) => h('div', { class: 'proposer-message' }, h('h4', {}, m.role), h('pre', {}, m.content))),
      h('h4', {}, 'answer'),
      h('pre', { class: 'proposer-answer' }, proposerAnswer(p)));
    return h('li', { class: 'proposal', 'data-proposal': p.proposal_id },
      // tabindex -1: where focus goes when "Load older proposals" brought the last page and hid.
      h('h3', { tabindex: '-1' }, `Proposal #${p.seq}`, ' ', statusBadge(p.status)),
      h('p', { class: 'proposal-meta' },
        ...(module ? [moduleChip(module, `module: ${module}`), ' '] : []),
        h('span', { class: 'tag tag-tip' }, `tip: ${p.tip}`), ' parent ', h('code', {}, p.parent_id), ' · ',
        h('time', { datetime: p.created_at, title: fmtDateTime(p.created_at) }, fmtAge(p.created_at))),
      demoSet && p.status !== 'running' ? h('p', { class: 'muted proposer-note' }, demoSetNote(p)) : null,
      ...body,
      parentLine,
      io);
  }
}

/**
 * Proposals are numbered 1, 2, 3... in each job and the list holds the newest ones: below the oldest
 * loaded are the ones not loaded yet. Said on screen beside "Load older proposals", so a long job's
 * early proposals do not silently vanish.
 */
export function olderNote(proposals: ReadonlyArray<Pick<ProposalView, 'seq'>>): string {
  if (proposals.length === 0) return '';
  const seqs = proposals.map((p) => p.seq);
  const oldest = Math.min(...seqs);
  if (oldest <= 1) return '';
  const older = oldest - 1;
  return `Showing the newest ${fmtCount(proposals.length)} proposals (#${fmtCount(oldest)} to #${fmtCount(Math.max(...seqs))}); the ${older === 1 ? 'oldest one (#1) is' : `${fmtCount(older)} older ones (#1 to #${fmtCount(older)}) are`} not loaded yet.`;
}

/** The tip of a demo-set proposal (its children have tip null). */
export const DEMO_SET_TIP = 'demos';

/**
 * What the timeline says of a demo-set proposal in place of a proposer prompt and answer: the note the
 * server stores as its prompt ("demo-set proposal for module m: 2 new set(s) from a pool of 5
 * demo(s); no model call"), or, once RETENTION_DAYS cleared it, that no model was called.
 */
export function demoSetNote(p: Pick<ProposalView, 'prompt'>): string {
  const note = promptMessages(p.prompt)[0]?.content.trim();
  if (!note) return 'Demo-set proposal: demos drawn from rewarded rollouts; no model call.';
  return `${note.charAt(0).toUpperCase()}${note.slice(1)}${/[.!?]$/.test(note) ? '' : '.'}`;
}

/**
 * What a child changed: "+7 −0 words", with its demos when it brings some ("+7 −0 words · 2 demos"). A
 * demo-set proposal keeps the parent's text: "+0 −0 words" alone said nothing changed, so it reads
 * "same instruction · 2 demos" (the demos are listed under the diff).
 */
export function changeSummary(added: number, removed: number, demos: number): string {
  const d = `${demos} demo${demos === 1 ? '' : 's'}`;
  if (demos > 0 && added === 0 && removed === 0) return `same instruction · ${d}`;
  return `+${added} −${removed} words${demos > 0 ? ` · ${d}` : ''}`;
}

/**
 * The proposer's answer as the timeline shows it. A proposal that succeeded with neither prompt nor
 * answer had them cleared by RETENTION_DAYS (its candidates stay): "(no answer)" read as if the
 * proposer had returned nothing.
 */
export function proposerAnswer(p: Pick<ProposalView, 'status' | 'prompt' | 'response' | 'error'>): string {
  if (p.response !== null) return p.response;
  if (p.error) return `(no answer: ${p.error})`;
  if (p.status === 'succeeded' && p.prompt.length === 0) return '(cleared: the prompt and answer are past the retention period, RETENTION_DAYS)';
  return '(no answer)';
}

/** The proposer's prompt as stored (chat messages); anything else is shown as JSON rather than hidden. */
function promptMessages(prompt: readonly unknown[]): Array<{ role: string; content: string }> {
  return prompt.map((m) => {
    if (typeof m === 'object' && m !== null && 'role' in m && 'content' in m && typeof m.role === 'string' && typeof m.content === 'string') {
      return { role: m.role, content: m.content };
    }
    return { role: 'message', content: JSON.stringify(m, null, 2) };
  });
}
