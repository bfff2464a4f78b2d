import { h, replaceChildren, uid } from '../dom.js';
import { fmtCount, fmtInterval, fmtScore, preview, scoreDigits } from '../format.js';
import { type ModuleView, isProgram, moduleText } from '../program.js';
import type { CandidateView, JobView } from '../types.js';
import { demoCount, demoList, instructionText, moduleChip, openedModules, programList } from './programView.js';
import { bestTag, isMeasuredBest } from './bestTag.js';
import { missingRewardsTag } from './missingRewardsTag.js';

/** Column names; on a phone each row is a card and each cell carries its column's name (data-label). */
const COL = {
  status: 'Status', parent: 'Parent', rollouts: 'Rollouts', rewards: 'Rewards (n)', mean: 'Mean reward [95% CI]', val: 'Val score (n)', serve: 'Serve',
} as const;

/**
 * Rows drawn until the user asks for all: 551 rows made a table 30,000 px tall, the charts, proposals
 * and event log under it out of reach (and some 1,100 Tab stops away for a keyboard user).
 */
export const SHOWN_ROWS = 50;

/** The baseline of a job that discovers its modules, before the first proxied call brings one. */
const NO_PROMPT_YET = '(no prompt yet: the first proxied call\'s system text becomes one)';

/**
 * The candidates table, best first. Re-rendered only when the data changed; which instructions are
 * expanded, and which one has focus, survive the re-render. For a program of several modules each
 * row names the module its candidate changed, expands to the whole program, and a filter keeps the
 * candidates that changed one module (and the baseline, their reference).
 */
export class Leaderboard {
  readonly el: HTMLElement;
  private readonly body = h('tbody');
  private readonly open = new Set<string>();
  private readonly filter: HTMLSelectElement;
  private readonly filterBox: HTMLElement;
  private signature = '';
  private job: JobView | null = null;
  private colors = new Map<string, string>();
  /** The candidate a link asked for (reveal): its row is marked; `revealed` once it was scrolled to and focused. */
  private target: string | null = null;
  private revealed = false;
  private readonly targetNote = h('p', { class: 'muted', role: 'status' });
  /** The job-wide inputs the drawn rows were drawn with (render's `shared`). */
  private drawnShared = '';
  /** Every row, or the best SHOWN_ROWS (and the rows the job points at); the user's choice. */
  private showAll = false;
  private readonly moreNote = h('span', { class: 'muted' });
  private readonly moreButton = h('button', { type: 'button', class: 'btn btn-small', onclick: () => this.toggleAll() });
  private readonly more = h('p', { class: 'rows-more', hidden: true }, this.moreNote, ' ', this.moreButton);

  /** `onPromote`: the user asked to serve this candidate (the page confirms and calls the API). */
  constructor(private readonly onPromote: (candidateId: string) => void) {
    const filterId = uid('module-filter');
    this.filter = h('select', { id: filterId, onchange: () => this.rerender() });
    this.filterBox = h('div', { class: 'toolbar', hidden: true },
      h('label', { for: filterId }, 'Changed module'), this.filter);
    const th = (text: string, cls = '') => h('th', { scope: 'col', class: cls }, text);
    const table = h('table', { class: 'leaderboard phone-cards' },
      h('caption', { class: 'visually-hidden' }, 'Candidates, best first'),
      h('thead', {}, h('tr', {},
        th('#', 'num'), th('Candidate'), th(COL.status, 'status-col'), th(COL.parent, 'parent-col'), th(COL.rollouts, 'num rollouts-col'), th(COL.rewards, 'num'),
        th(COL.mean, 'num'), th(COL.val, 'num'), th(COL.serve))),
      this.body);
    this.el = h('section', { class: 'panel', 'aria-labelledby': 'leaderboard-title' },
      h('div', { class: 'panel-head' }, h('h2', { id: 'leaderboard-title' }, 'Candidates'), this.filterBox),
      this.targetNote,
      h('div', { class: 'table-scroll' }, table),
      this.more);
  }

  /**
   * Show one candidate (the page was opened at it, from a rollout): once the job is read its row is
   * marked, scrolled into view and its instruction's toggle focused, a module filter hiding it is
   * cleared; a candidate the job does not have is said so.
   */
  reveal(candidateId: string): void {
    this.target = candidateId;
    this.revealed = false;
    this.rerender();
  }

  update(job: JobView, colors: Map<string, string>): void {
    const signature = JSON.stringify([job.best_candidate_id, job.served_candidate_id, job.guard.state, job.guard.candidate_id, job.status, job.modules, job.candidates ?? []]);
    if (signature === this.signature) return;
    this.signature = signature;
    this.job = job;
    this.colors = colors;
    this.syncFilter(job);
    this.rerender();
  }

  private toggleAll(): void {
    this.showAll = !this.showAll;
    this.rerender();
  }

  /** The filter lists the program's modules; a chosen module that still exists stays chosen. */
  private syncFilter(job: JobView): void {
    this.filterBox.hidden = !isProgram(job);
    const names = job.modules.map((m) => m.name);
    const current = Array.from(this.filter.options, (o) => o.value).slice(1);
    if (JSON.stringify(current) === JSON.stringify(names)) return;
    const chosen = this.filter.value;
    replaceChildren(this.filter, h('option', { value: '' }, 'All modules'), ...names.map((n) => h('option', { value: n }, n)));
    this.filter.value = names.includes(chosen) ? chosen : '';
  }

  private rerender(): void {
    const job = this.job;
    if (!job) return;
    const all = job.candidates ?? [];
    const module = isProgram(job) ? this.filter.value : '';
    // The baseline stays beside the filtered candidates: it is what their lifts are measured against.
    const candidates = module ? all.filter((c) => c.changed_modules.includes(module) || c.parent_id === null) : all;
    const focused = document.activeElement;
    const focusedId = (focused?.closest('[data-candidate]') as HTMLElement | null)?.dataset.candidate;
    // The rows are rebuilt: focus goes back to the same control of the same row (its Promote button, else its summary).
    const focusedAction = focusedId ? (focused as HTMLElement | null)?.dataset.action : undefined;
    const scale = ciScale(candidates, job.reward_range);
    const modules = isProgram(job) ? job.modules : null;
    // Ranks are among all candidates: the filter hides rows, it does not renumber them.
    const rank = new Map(sortCandidates(all, job.best_candidate_id).map((c, k) => [c.candidate_id, k + 1]));
    const drawn = new Map(Array.from(this.body.querySelectorAll<HTMLTableRowElement>('tr[data-candidate]'), (r) => [r.dataset.candidate, r]));
    const shared = JSON.stringify([job.job_id, job.reward_range, scale, job.best_candidate_id, job.served_candidate_id, job.guard.state, job.guard.candidate_id, job.guard.served_candidate_id, job.status, job.modules, module, this.target]);
    // Job-wide inputs of every row: when they change, every row is drawn again (compared once here,
    // not written into each row's key: job.modules alone may be the program's whole templates).
    const sharedChanged = shared !== this.drawnShared;
    this.drawnShared = shared;
    const sorted = sortCandidates(candidates, job.best_candidate_id);
    // A link to a candidate beyond the first rows shows them all: its row must be there to be revealed.
    if (this.target !== null && !this.revealed && sorted.findIndex((c) => c.candidate_id === this.target) >= SHOWN_ROWS) this.showAll = true;
    // Beyond the best rows, the ones the job points at stay: the baseline (the reference), what is
    // served, what the guard watches.
    const pinned = new Set(['baseline', job.served_candidate_id, job.guard.candidate_id]);
    const shown = this.showAll ? sorted : sorted.filter((c, k) => k < SHOWN_ROWS || pinned.has(c.candidate_id));
    this.syncMore(sorted.length, shown.length);
    const rows = shown.map((c) => {
      const r = rank.get(c.candidate_id) ?? 0;
      const old = drawn.get(c.candidate_id);
      // A poll of a live job moves one or two means: the other rows are what they were. Drawing all
      // of them again (551 rows: about 0.4 s of script, style and layout at every poll) blocked the page.
      const key = rowKey(c, this.colors.get(c.candidate_id), modules ? openedModules(c.candidate_id) : []);
      if (old && !sharedChanged && old.dataset.key === key) return setRank(old, r);
      const fresh = this.row(c, r, job, scale, modules, module);
      fresh.dataset.key = key;
      const kept = keepInstruction(old, fresh);
      kept.dataset.key = key;
      return kept;
    });
    placeRows(this.body, rows);
    if (this.revealTarget(all, module)) return;
    if (focusedId) {
      const row = this.body.querySelector<HTMLElement>(`tr[data-candidate="${CSS.escape(focusedId)}"]`);
      if (focusedAction) row?.querySelector<HTMLElement>(`[data-action="${CSS.escape(focusedAction)}"]`)?.focus();
      if (row && !row.contains(document.activeElement)) row.querySelector<HTMLElement>('summary')?.focus();
    }
    if (all.length === 0 || (module && !candidates.some((c) => c.changed_modules.includes(module)))) {
      const text = all.length === 0 ? 'No candidates yet: the baseline appears with the first proxied call.' : `No candidate has changed module ${module} yet.`;
      this.body.append(h('tr', {}, h('td', { colspan: '9', class: 'empty' }, text)));
    }
  }

  /** The line under the table: how many rows are left out, and the button that shows them (or folds them again). */
  private syncMore(total: number, shown: number): void {
    const folded = total - shown;
    this.more.hidden = total <= SHOWN_ROWS;
    if (this.more.hidden) return;
    const noun = this.filter.value ? `candidates that changed ${this.filter.value}` : 'candidates';
    this.moreNote.textContent = folded > 0 ? `${fmtCount(folded)} more ${noun} not shown (ranked lower).` : `All ${fmtCount(total)} ${noun} shown.`;
    // The button keeps focus through the change: it is the same element, relabelled.
    this.moreButton.textContent = folded > 0 ? `Show all ${fmtCount(total)}` : `Show the best ${SHOWN_ROWS} only`;
  }

  /**
   * The first rendering that holds the asked-for candidate scrolls to it and focuses it (later ones
   * only keep its mark, so polling never pulls the view back). True when it rendered again instead.
   */
  private revealTarget(all: readonly CandidateView[], module: string): boolean {
    const id = this.target;
    if (id === null || this.revealed) return false;
    if (!all.some((c) => c.candidate_id === id)) {
      this.targetNote.textContent = `This job has no candidate ${id}.`;
      return false;
    }
    if (module && !this.body.querySelector(`tr[data-candidate="${CSS.escape(id)}"]`)) {
      this.filter.value = '';
      this.rerender();
      return true;
    }
    this.revealed = true;
    this.targetNote.textContent = '';
    const row = this.body.querySelector<HTMLElement>(`tr[data-candidate="${CSS.escape(id)}"]`);
    row?.scrollIntoView({ block: 'center' });
    row?.querySelector<HTMLElement>('summary')?.focus({ preventScroll: true });
    return false;
  }

  /**
   * `modules`: the program, when the job has several (then the row expands to every module's text).
   * `shown`: the module the filter keeps; the collapsed row previews that module's text, so the
   * baseline beside the 'polish' candidates reads its polish template, not its first module's.
   */
  private row(c: CandidateView, rank: number, job: JobView, scale: [number, number], modules: readonly ModuleView[] | null, shown: string): HTMLTableRowElement {
    const colors = this.colors;
    const filtered = shown ? modules?.find((m) => m.name === shown) : undefined;
    const text = filtered ? moduleText(c, filtered) : c.instruction;
    const digits = scoreDigits(job.reward_range);
    const bestId = job.best_candidate_id;
    const served = c.candidate_id === job.served_candidate_id;
    const details = h('details', { class: 'instruction' },
      h('summary', {},
        h('span', { class: 'when-closed', dir: 'auto' }, preview(text, 80) || (job.modules.length === 0 ? NO_PROMPT_YET : '(empty instruction)')),
        h('span', { class: 'when-open' }, modules ? 'Program' : 'Instruction')),
      // A job still discovering has no prompt yet: open, the row says so again (not "empty: no system message").
      modules ? programList(c, modules) : c.instruction === '' && job.modules.length === 0 ? h('p', { class: 'instruction-text muted' }, NO_PROMPT_YET) : instructionText(c.instruction),
      demoList(c, job.job_id));
    details.open = this.open.has(c.candidate_id);
    details.addEventListener('toggle', () => {
      if (details.open) this.open.add(c.candidate_id);
      else this.open.delete(c.candidate_id);
    });
    const demos = demoCount(c);
    const tags = [
      bestTag(c, bestId),
      served ? h('span', { class: 'tag tag-served', title: 'The finished job\'s proxy URL serves this candidate' }, 'served') : null,
      guardTag(c, job),
      missingRewardsTag(c),
      c.candidate_id === 'baseline' ? h('span', { class: 'tag' }, 'control') : null,
      ...(modules ? c.changed_modules.map((m) => moduleChip(m)) : []),
      c.tip ? h('span', { class: 'tag tag-tip' }, `tip: ${c.tip}`) : null,
      demos > 0 ? h('span', { class: 'tag tag-demos', title: 'Demonstrations injected after the system text (expand the row)' }, `${demos} demo${demos === 1 ? '' : 's'}`) : null,
    ];
    const target = c.candidate_id === this.target;
    return h('tr', {
      'data-candidate': c.candidate_id, id: `candidate-${c.candidate_id}`,
      // What the instruction cell is drawn from (keepInstruction); a text opened in the program panel opens here too.
      'data-texts': JSON.stringify([shown, job.job_id, job.modules, c.instruction, c.instructions, c.changed_modules, c.demos, modules ? openedModules(c.candidate_id) : []]),
      class: [isMeasuredBest(c, bestId) ? 'is-best' : '', target ? 'is-target' : ''].filter(Boolean).join(' '),
      'aria-current': target ? 'true' : false,
    },
      h('td', { class: 'num rank' }, rank),
      h('td', { class: 'candidate-cell card-key' },
        // data-rank: a phone hides the rank column and writes "#3" here instead.
        h('div', { class: 'candidate-id', 'data-rank': `#${rank}` },
          h('span', { class: 'swatch', style: `background:${colors.get(c.candidate_id) ?? '#888'}`, 'aria-hidden': 'true' }),
          h('code', {}, c.candidate_id), ...tags),
        // The Status, Parent and Rollouts columns' values, shown here instead where the table is narrow (styles.css).
        h('p', { class: 'candidate-meta muted' },
          // Not a .badge: one status badge per row, the Status column's.
          h('span', { class: 'meta-status' }, c.status), ' · ',
          ...(c.parent_id ? ['from ', h('code', {}, c.parent_id), ' · '] : []), `${fmtCount(c.rollout_count)} rollout${c.rollout_count === 1 ? '' : 's'}`),
        details),
      h('td', { class: 'status-cell', 'data-label': COL.status }, h('span', { class: `badge cand-${c.status}` }, c.status)),
      h('td', { class: 'parent-cell', 'data-label': COL.parent }, c.parent_id ? h('code', {}, c.parent_id) : '—'),
      h('td', { class: 'num rollouts-cell', 'data-label': COL.rollouts }, fmtCount(c.rollout_count)),
      h('td', { class: 'num rewards-cell', 'data-label': COL.rewards }, fmtCount(c.reward_count)),
      h('td', { class: 'num mean-cell', 'data-label': COL.mean },
        h('span', { class: 'mean' }, fmtScore(c.avg_reward, digits)), ' ',
        h('span', { class: 'ci' }, fmtInterval(c.ci, digits)),
        ciBar(c, colors.get(c.candidate_id) ?? '#888', scale)),
      h('td', { class: 'num val-cell', 'data-label': COL.val }, c.val_score === null ? '—' : `${fmtScore(c.val_score, digits)} (${c.val_count})`),
      h('td', { class: 'serve-cell', 'data-label': COL.serve }, this.promoteButton(c, job, served)));
  }

  /** A cancelled or failed job cannot be promoted (409): no button; the served candidate needs none. */
  private promoteButton(c: CandidateView, job: JobView, served: boolean): HTMLElement | string {
    if (job.status === 'cancelled' || job.status === 'failed') return '—';
    // A job still discovering its first prompt has nothing to promote: the baseline is its own calls, unchanged.
    if (job.modules.length === 0) return '—';
    if (served) return h('span', { class: 'muted' }, 'serving');
    const label = c.candidate_id === 'baseline' && job.served_candidate_id ? 'Roll back…' : 'Promote…';
    return h('button', {
      type: 'button', class: 'btn btn-small', 'data-action': 'promote', 'aria-label': `${label.replace('…', '')} ${c.candidate_id}`,
      onclick: () => this.onPromote(c.candidate_id),
    }, label);
  }
}

/**
 * The row drawn before for a candidate, given the fresh row's cells but keeping its own instruction
 * (when drawn from the same texts). Rows were all drawn again at every poll of a live job (a reward
 * moves some mean): selecting an expanded instruction to copy it, the only place a one-module job
 * shows it whole, was cleared every 2 s. Else the fresh row.
 */
function keepInstruction(old: HTMLTableRowElement | undefined, fresh: HTMLTableRowElement): HTMLTableRowElement {
  const kept = old?.querySelector('details.instruction');
  if (!old || !kept || old.dataset.texts !== fresh.dataset.texts || old.cells.length !== fresh.cells.length) return fresh;
  for (const name of ['class', 'aria-current']) {
    const value = fresh.getAttribute(name);
    if (value === null) old.removeAttribute(name);
    else old.setAttribute(name, value);
  }
  const freshCells = Array.from(fresh.cells);
  const oldCells = Array.from(old.cells);
  freshCells.forEach((cell, k) => {
    const was = oldCells[k] as HTMLTableCellElement;
    if (!was.contains(kept)) return void old.replaceChild(cell, was);
    // The instruction's cell: everything in it but the instruction, one node at a time (moving the
    // instruction itself, even back into place, would clear a selection in it).
    for (const child of Array.from(cell.children)) {
      if (child.matches('details.instruction')) continue;
      const before = was.querySelector(`:scope > .${CSS.escape(child.classList[0] ?? '')}`);
      if (before) was.replaceChild(child, before);
    }
  });
  return old;
}

/**
 * What a row is drawn from, but its rank (setRank changes that in place: one mean that moves up
 * renumbers every row below it) and the job-wide inputs render compares once for all rows.
 */
function rowKey(c: CandidateView, color: string | undefined, opened: readonly string[]): string {
  return JSON.stringify([color ?? null, opened, c]);
}

/** The rank of a kept row: its rank cell and the "#3" a phone's card shows. */
function setRank(row: HTMLTableRowElement, rank: number): HTMLTableRowElement {
  const cell = row.cells[0];
  if (cell && cell.textContent !== String(rank)) cell.textContent = String(rank);
  const id = row.querySelector<HTMLElement>('.candidate-id');
  if (id && id.dataset.rank !== `#${rank}`) id.dataset.rank = `#${rank}`;
  return row;
}

/** `body` holds `rows` in order, moving only the rows out of place (a moved row loses a selection in it). */
function placeRows(body: HTMLElement, rows: readonly HTMLTableRowElement[]): void {
  rows.forEach((row, k) => {
    const at = body.children[k] ?? null;
    if (at !== row) body.insertBefore(row, at);
  });
  while (body.children.length > rows.length) body.lastElementChild?.remove();
}

/** Best candidate first, then by mean (unrewarded last), then creation order. */
export function sortCandidates(candidates: readonly CandidateView[], bestId: string | null): CandidateView[] {
  return candidates
    .map((c, ordinal) => ({ c, ordinal }))
    .sort((x, y) => {
      if ((x.c.candidate_id === bestId) !== (y.c.candidate_id === bestId)) return x.c.candidate_id === bestId ? -1 : 1;
      const a = x.c.avg_reward;
      const b = y.c.avg_reward;
      if (a === null && b !== null) return 1;
      if (b === null && a !== null) return -1;
      if (a !== null && b !== null && a !== b) return b - a;
      return x.ordinal - y.ordinal;
    })
    .map((e) => e.c);
}

/**
 * Common axis for the little interval bars: the job's reward_range (else [0, 1]), widened if some
 * interval falls outside it. Starting from [0, 1] on a -10..-2 job drew an interval that spans the
 * whole range as a bar stopping short of the end.
 */
export function ciScale(candidates: readonly CandidateView[], range?: readonly [number, number] | null): [number, number] {
  let lo = range ? range[0] : 0;
  let hi = range ? range[1] : 1;
  for (const c of candidates) {
    if (c.ci) {
      lo = Math.min(lo, c.ci[0]);
      hi = Math.max(hi, c.ci[1]);
    }
  }
  return [lo, hi];
}

/** A small picture of the interval; decorative (the numbers are in the cell's text). */
function ciBar(c: CandidateView, color: string, [lo, hi]: [number, number]): HTMLElement | null {
  if (!c.ci || c.avg_reward === null || hi <= lo) return null;
  const pct = (v: number) => `${(100 * (Math.min(hi, Math.max(lo, v)) - lo) / (hi - lo)).toFixed(1)}%`;
  const left = pct(c.ci[0]);
  const width = `${(100 * (Math.min(hi, c.ci[1]) - Math.max(lo, c.ci[0])) / (hi - lo)).toFixed(1)}%`;
  return h('span', { class: 'ci-bar', 'aria-hidden': 'true' },
    h('span', { class: 'ci-range', style: `left:${left};width:${width};background:${color}` }),
    h('span', { class: 'ci-mean', style: `left:${pct(c.avg_reward)}` }));
}

/**
 * The guard's state on the candidate it watches (beside its "served" badge) or tripped for (after a
 * revert the badge moved to the baseline; this row keeps the alarm). Nothing while the job runs or
 * with the guard off.
 */
function guardTag(c: CandidateView, job: JobView): HTMLElement | null {
  const g = job.guard;
  if (g.candidate_id !== c.candidate_id || (g.state !== 'watching' && g.state !== 'tripped')) return null;
  const title = g.state === 'tripped'
    ? `The guard tripped: this candidate's production rewards fell below its confirmed score${g.served_candidate_id !== c.candidate_id ? `; the job serves ${g.served_candidate_id ?? '—'} now` : ''}`
    : 'The guard compares this candidate\'s production rewards with its confirmed score';
  return h('span', { class: `tag tag-guard tag-guard-${g.state}`, 'data-guard-state': g.state, title }, `guard: ${g.state}`);
}
