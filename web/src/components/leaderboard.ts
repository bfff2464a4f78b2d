import { h, replaceChildren } from '../dom.js';
import { fmtCount, fmtInterval, fmtScore, preview } from '../format.js';
import type { CandidateView, JobView } from '../types.js';

/**
 * The candidates table, best first. Re-rendered only when the data changed; which instructions are
 * expanded, and which one has focus, survive the re-render.
 */
export class Leaderboard {
  readonly el: HTMLElement;
  private readonly body = h('tbody');
  private readonly open = new Set<string>();
  private signature = '';

  constructor() {
    const th = (text: string, cls = '') => h('th', { scope: 'col', class: cls }, text);
    const table = h('table', { class: 'leaderboard' },
      h('caption', { class: 'visually-hidden' }, 'Candidates, best first'),
      h('thead', {}, h('tr', {},
        th('#', 'num'), th('Candidate'), th('Status'), th('Parent'), th('Rollouts', 'num'), th('Rewards (n)', 'num'),
        th('Mean reward [95% CI]', 'num'), th('Val score (n)', 'num'))),
      this.body);
    this.el = h('section', { class: 'panel', 'aria-labelledby': 'leaderboard-title' },
      h('h2', { id: 'leaderboard-title' }, 'Candidates'),
      h('div', { class: 'table-scroll' }, table));
  }

  update(job: JobView, colors: Map<string, string>): void {
    const candidates = job.candidates ?? [];
    const signature = JSON.stringify([job.best_candidate_id, candidates]);
    if (signature === this.signature) return;
    this.signature = signature;
    const focusedId = (document.activeElement?.closest('[data-candidate]') as HTMLElement | null)?.dataset.candidate;
    const scale = ciScale(candidates);
    const rows = sortCandidates(candidates, job.best_candidate_id).map((c, k) => this.row(c, k + 1, job.best_candidate_id, colors, scale));
    replaceChildren(this.body, ...rows);
    if (focusedId) this.body.querySelector<HTMLElement>(`tr[data-candidate="${CSS.escape(focusedId)}"] summary`)?.focus();
    if (candidates.length === 0) {
      this.body.append(h('tr', {}, h('td', { colspan: '8', class: 'empty' }, 'No candidates yet: the baseline appears with the first proxied call.')));
    }
  }

  private row(c: CandidateView, rank: number, bestId: string | null, colors: Map<string, string>, scale: [number, number]): HTMLTableRowElement {
    const details = h('details', { class: 'instruction' },
      h('summary', {},
        h('span', { class: 'when-closed' }, preview(c.instruction, 80) || '(empty instruction)'),
        h('span', { class: 'when-open' }, 'Instruction')),
      h('p', { class: 'instruction-text' }, c.instruction));
    details.open = this.open.has(c.candidate_id);
    details.addEventListener('toggle', () => {
      if (details.open) this.open.add(c.candidate_id);
      else this.open.delete(c.candidate_id);
    });
    const tags = [
      c.candidate_id === bestId ? h('span', { class: 'tag tag-best' }, 'best') : null,
      c.candidate_id === 'baseline' ? h('span', { class: 'tag' }, 'control') : null,
      c.tip ? h('span', { class: 'tag tag-tip' }, `tip: ${c.tip}`) : null,
    ];
    return h('tr', { 'data-candidate': c.candidate_id, class: c.candidate_id === bestId ? 'is-best' : '' },
      h('td', { class: 'num' }, rank),
      h('td', { class: 'candidate-cell' },
        h('div', { class: 'candidate-id' },
          h('span', { class: 'swatch', style: `background:${colors.get(c.candidate_id) ?? '#888'}`, 'aria-hidden': 'true' }),
          h('code', {}, c.candidate_id), ...tags),
        details),
      h('td', {}, h('span', { class: `badge cand-${c.status}` }, c.status)),
      h('td', {}, c.parent_id ? h('code', {}, c.parent_id) : '—'),
      h('td', { class: 'num' }, fmtCount(c.rollout_count)),
      h('td', { class: 'num' }, fmtCount(c.reward_count)),
      h('td', { class: 'num mean-cell' },
        h('span', { class: 'mean' }, fmtScore(c.avg_reward)), ' ',
        h('span', { class: 'ci' }, fmtInterval(c.ci)),
        ciBar(c, colors.get(c.candidate_id) ?? '#888', scale)),
      h('td', { class: 'num' }, c.val_score === null ? '—' : `${fmtScore(c.val_score)} (${c.val_count})`));
  }
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

/** Common axis for the little interval bars: [0, 1] unless some reward falls outside it. */
function ciScale(candidates: readonly CandidateView[]): [number, number] {
  let lo = 0;
  let hi = 1;
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
