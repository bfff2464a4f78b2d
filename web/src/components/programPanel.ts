import { h, replaceChildren, uid } from '../dom.js';
import { fmtScore, scoreDigits } from '../format.js';
import { isProgram } from '../program.js';
import type { CandidateView, JobView } from '../types.js';
import { bestTag, isMeasuredBest } from './bestTag.js';
import { demoList, programList } from './programView.js';

/**
 * The program panel of a job with several modules: every module's instruction in one candidate, the
 * served one (an ended job), else the best one, unless the user picks another. Hidden for one-module jobs, whose program is the one
 * instruction the leaderboard already shows. Updated in place so polling keeps the user's choice.
 */
export class ProgramPanel {
  readonly el: HTMLElement;
  private readonly select: HTMLSelectElement;
  private readonly heading = h('p', { class: 'program-of' });
  private readonly body = h('div');
  private job: JobView | null = null;
  private signature = '';
  /** What the module texts were drawn from; the options of the select, likewise. */
  private texts = '';
  private options = '';

  constructor() {
    const selectId = uid('program-candidate');
    this.select = h('select', { id: selectId, onchange: () => this.render() });
    this.el = h('section', { class: 'panel program-panel', 'aria-labelledby': 'program-title', hidden: true },
      h('div', { class: 'panel-head' },
        h('h2', { id: 'program-title' }, 'Program'),
        h('div', { class: 'toolbar' }, h('label', { for: selectId }, 'Candidate'), this.select)),
      this.heading,
      this.body);
  }

  update(job: JobView): void {
    // Everything the panel shows: a reward that leaves the mean where it was still moves the count.
    const signature = JSON.stringify([job.best_candidate_id, job.served_candidate_id, job.modules, (job.candidates ?? []).map((c) => [c.candidate_id, c.module, c.changed_modules, c.instructions, c.demos, c.avg_reward, c.reward_count, c.val_count])]);
    if (signature === this.signature) return;
    this.signature = signature;
    this.job = job;
    this.el.hidden = !isProgram(job);
    const chosen = this.select.value;
    const ids = (job.candidates ?? []).map((c) => c.candidate_id);
    // An ended job serves one program (promoted, or its champion at the end): that is the one to show
    // first. "Best" alone showed the champion's program under a header serving another one.
    const served = job.served_candidate_id;
    const best = (job.candidates ?? []).find((c) => c.candidate_id === job.best_candidate_id);
    // Before any reward the API's best is the baseline by default: nothing is known to be best yet.
    const first = served ? `Served (${served})` : best && !isMeasuredBest(best, job.best_candidate_id) ? `${best.candidate_id} (no reward yet)` : `Best${job.best_candidate_id ? ` (${job.best_candidate_id})` : ''}`;
    const labels = (job.candidates ?? []).map((c) => `${c.candidate_id}${c.changed_modules.length > 0 ? ` · changes ${c.changed_modules.join(', ')}` : ''}`);
    const options = JSON.stringify([first, ids, labels]);
    if (options !== this.options) {
      this.options = options;
      replaceChildren(this.select,
        h('option', { value: '' }, first),
        ...ids.map((id, k) => h('option', { value: id }, labels[k])));
      this.select.value = ids.includes(chosen) ? chosen : '';
    }
    this.render();
  }

  private render(): void {
    const job = this.job;
    if (!job || !isProgram(job)) return;
    const id = this.select.value || job.served_candidate_id || job.best_candidate_id || 'baseline';
    const c = (job.candidates ?? []).find((x) => x.candidate_id === id);
    if (!c) {
      replaceChildren(this.heading, 'No candidate yet.');
      replaceChildren(this.body);
      this.texts = '';
      return;
    }
    replaceChildren(this.heading, ...candidateLine(c, job.best_candidate_id, job.served_candidate_id, scoreDigits(job.reward_range)));
    // The texts are drawn again only when they change. A reward moves the mean in the line above at
    // every poll of a live job; drawing them again with it cleared a text selection (copying an
    // instruction) and dropped keyboard focus on a "Show all" to the page, every 2 s.
    const texts = JSON.stringify([job.job_id, job.modules, c.candidate_id, c.changed_modules, c.instructions, c.demos]);
    if (texts === this.texts) return;
    this.texts = texts;
    // A module changed by its demos alone keeps its text: its demos show what changed.
    replaceChildren(this.body, programList(c, job.modules), demoList(c, job.job_id));
  }
}

/** "cand_x best served: changes module answer of baseline · mean reward 0.700 (n=12)". */
function candidateLine(c: CandidateView, bestId: string | null, servedId: string | null, digits: number): Array<Node | string> {
  const changed = c.changed_modules;
  const what: Array<Node | string> = c.parent_id === null
    ? ['the baseline program']
    : [changed.length === 1 ? 'changes module ' : 'changes modules ', ...changed.flatMap((m, i) => [i > 0 ? ', ' : '', h('code', {}, m)])];
  if (c.parent_id) what.push(' of ', h('code', {}, c.parent_id), c.proposal_id === null ? ' (added by hand)' : '');
  return [
    h('code', {}, c.candidate_id), bestTag(c, bestId) ?? '',
    c.candidate_id === servedId ? h('span', { class: 'tag tag-served' }, 'served') : '', ': ', ...what,
    ` · mean reward ${fmtScore(c.avg_reward, digits)} (n=${c.reward_count})`,
  ];
}
