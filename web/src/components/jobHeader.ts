import { h, setText } from '../dom.js';
import { fmtCount, fmtDateTime, fmtInterval, fmtScore, fmtSigned, scoreDigits } from '../format.js';
import { isFinal, type JobStatus, type JobView } from '../types.js';
import { CopyField } from './copyField.js';
import { updateStatusBadge } from './statusBadge.js';

export type JobAction = 'pause' | 'resume' | 'cancel';

/**
 * The job's title, headline numbers, proxy URL and state buttons. Built once and updated in place so
 * that polling never steals keyboard focus from a button.
 */
export class JobHeader {
  readonly el: HTMLElement;
  private readonly title: HTMLElement;
  private readonly badge = h('span', { class: 'badge' });
  /**
   * The job's name (`name` or `system.name` at creation), shown above its id when it has one. User
   * text, possibly right to left: dir="auto" lays it out in its own direction.
   */
  private readonly name = h('span', { class: 'job-name', 'data-testid': 'job-name', dir: 'auto' });
  private readonly live = h('span', { class: 'live', role: 'status' });
  private readonly error = h('p', { class: 'error-text', role: 'alert' });
  private readonly buttons: Record<JobAction, HTMLButtonElement>;
  private readonly proxy = new CopyField('Proxy URL');
  private readonly cells = new Map<string, HTMLElement>();
  private readonly actions: HTMLElement;
  private busy = false;
  /** An action button had focus when the header went busy. */
  private refocus = false;
  private job: JobView | null = null;

  constructor(jobId: string, onAction: (action: JobAction) => void) {
    this.title = h('h1', { id: 'job-title', tabindex: '-1' }, this.name, 'Job ', h('code', {}, jobId));
    const button = (action: JobAction, label: string, cls = 'btn') =>
      h('button', { type: 'button', class: cls, 'data-action': action, disabled: true, onclick: () => onAction(action) }, label);
    this.buttons = {
      pause: button('pause', 'Pause'),
      resume: button('resume', 'Resume'),
      cancel: button('cancel', 'Cancel job…', 'btn btn-danger'),
    };
    const stats = h('dl', { class: 'stats' });
    for (const [key, label] of [
      ['best', 'Best score'], ['lift', 'Lift over baseline'], ['baseline', 'Baseline score'], ['rollouts', 'Rollouts'],
      ['rewards', 'Rewards'], ['proposals', 'Proposals'], ['phase', 'Phase'], ['updated', 'Updated'],
      ['serving', 'Serving'], ['guard', 'Guard'], ['policy-usage', 'Policy tokens'], ['proposer-usage', 'Proposer tokens'],
      ['unmatched', 'Unmatched prompts'], ['per-call', 'Per-call rollouts'],
    ] as const) {
      const dd = h('dd', { 'data-stat': key });
      this.cells.set(key, dd);
      stats.append(h('div', { class: `stat stat-${key}` }, h('dt', {}, label), dd));
    }
    // Said only once the job's mipro.rollout.per_call event is seen (notePerCall).
    const perCall = this.cells.get('per-call')?.parentElement;
    if (perCall) perCall.hidden = true;
    this.actions = h('div', { class: 'actions', role: 'group', 'aria-label': 'Job state' }, this.buttons.pause, this.buttons.resume, this.buttons.cancel);
    this.el = h('section', { class: 'job-header', 'aria-labelledby': 'job-title' },
      h('div', { class: 'title-row' }, this.title, this.badge, this.live),
      this.actions,
      this.error,
      stats,
      this.proxy.el);
  }

  /** The job's heading: where focus goes when the page opens. */
  get titleElement(): HTMLElement {
    return this.title;
  }

  update(job: JobView): void {
    this.job = job;
    setText(this.name, job.name ?? '');
    this.name.hidden = job.name === null;
    updateStatusBadge(this.badge, job.status);
    this.badge.setAttribute('data-status', job.status);
    const digits = scoreDigits(job.reward_range);
    this.setCell('best', bestScore(job, digits));
    this.setCell('lift', liftText(job.lift_over_baseline, digits));
    this.setCell('baseline', fmtScore(job.baseline_score, digits));
    this.setCell('rollouts', fmtCount(job.rollout_count));
    this.setCell('rewards', fmtCount(job.reward_count));
    this.setCell('proposals', proposalsText(job));
    this.setCell('phase', job.phase);
    this.setCell('updated', fmtDateTime(job.updated_at));
    this.setCell('serving', servingText(job));
    this.setCell('guard', guardText(job.guard, digits, job.status));
    this.cells.get('guard')?.setAttribute('data-guard-state', job.guard.state);
    this.setCell('policy-usage', fmtUsage(job.usage.policy));
    this.setCell('proposer-usage', fmtUsage(job.usage.proposer));
    // Calls no module optimizes: said only when there are some (the CLI's `jobs show` says it too).
    this.setCell('unmatched', unmatchedText(job.unmatched_prompts));
    const unmatched = this.cells.get('unmatched')?.parentElement;
    if (unmatched) unmatched.hidden = job.unmatched_prompts === 0;
    this.proxy.set(job.proxy_url);
    this.syncButtons();
  }

  /**
   * The job's `mipro.rollout.per_call` event (its program's calls came without a rollout id), from the
   * event feed: the job view does not carry it (reading it there would scan the job's events).
   */
  notePerCall(data: unknown): void {
    this.setCell('per-call', perCallText(data));
    const cell = this.cells.get('per-call')?.parentElement;
    if (cell) cell.hidden = false;
  }

  /**
   * Busy disables every action, the pressed one too, and a disabled button drops keyboard focus to the
   * page: after Pause, a keyboard user was back at the top of the page. When the action ends, focus
   * goes to the first action that is enabled now (Resume after Pause), or to the title when none is.
   */
  setBusy(busy: boolean): void {
    if (busy) this.refocus ||= this.actions.contains(document.activeElement);
    this.busy = busy;
    this.syncButtons();
    if (!busy && this.refocus) {
      this.refocus = false;
      const active = document.activeElement;
      // Focus the user moved elsewhere in the meantime stays where it is.
      const lost = active === null || active === document.body || (active instanceof HTMLButtonElement && active.disabled);
      if (lost) (Object.values(this.buttons).find((b) => !b.disabled) ?? this.title).focus();
    }
  }

  showError(message: string): void {
    setText(this.error, message);
  }

  setLive(text: string): void {
    setText(this.live, text);
  }

  private syncButtons(): void {
    const s = this.job?.status;
    this.buttons.pause.disabled = this.busy || s !== 'running';
    this.buttons.resume.disabled = this.busy || s !== 'paused';
    this.buttons.cancel.disabled = this.busy || !s || isFinal(s);
  }

  private setCell(key: string, text: string): void {
    const cell = this.cells.get(key);
    if (cell) setText(cell, text);
  }
}

/**
 * The tab's title: the job's name first when it has one. A title cannot carry dir="auto", so the name
 * is wrapped in first-strong isolate marks (U+2068 ... U+2069): a right-to-left name would otherwise
 * pull " · Job" and the id into its own direction.
 */
export function jobTitle(job: Pick<JobView, 'job_id' | 'name'>): string {
  return `${job.name !== null ? `\u2068${job.name}\u2069 · ` : ''}Job ${job.job_id} · miprox`;
}

/**
 * "0.812 [0.744, 0.871] · val, n=30": the interval and its source are part of the number. When seeds
 * repeat, the interval counts seeds, not rollouts ("n=30 on 3 seeds"): n alone would claim 30
 * observations behind an interval that rests on 3.
 */
export function bestScore(job: Pick<JobView, 'best_score' | 'best_score_ci' | 'best_score_source' | 'best_score_n' | 'best_score_n_seeds'>, digits = 3): string {
  if (job.best_score === null) return '—';
  const seeds = job.best_score_n_seeds;
  // 0 seeds: the rewards carry none (an app calling the proxy without a seed), and each one is an
  // observation of its own, so n says it all; "on 0 seeds" claimed an interval resting on nothing.
  const onSeeds = seeds && job.best_score_n && seeds < job.best_score_n ? ` on ${seeds} seed${seeds === 1 ? '' : 's'}` : '';
  const source = job.best_score_source ? ` · ${job.best_score_source}${job.best_score_n ? `, n=${job.best_score_n}${onSeeds}` : ''}` : '';
  return `${fmtScore(job.best_score, digits)} ${fmtInterval(job.best_score_ci, digits)}${source}`.replace(/\s+·/, ' ·');
}

/**
 * What the proxy URL serves a new rollout. While the job runs the optimizer picks per rollout:
 * nothing single is served. A paused job (served_candidate_id null too) serves every new rollout
 * its best known candidate: "— (optimizing)" said the opposite.
 */
export function servingText(job: Pick<JobView, 'status' | 'served_candidate_id' | 'best_candidate_id' | 'best_score'>): string {
  if (job.served_candidate_id) return job.served_candidate_id;
  // Before any reward the best candidate is the baseline by default: nothing is known to be best.
  if (job.status === 'paused') return `${job.best_candidate_id ?? 'baseline'} (paused: ${job.best_score === null ? 'no reward yet' : 'the best known candidate'})`;
  return '— (optimizing)';
}

/**
 * "+0.100 [0.020, 0.180] · val, paired on 12 seeds". The source is part of the number: the lift falls
 * back to online rewards when val pairs are too few, while best_score and baseline_score may still come
 * from val. A paired lift uses only the seeds both ran at the same time (docs/optimizer.md), so it can
 * disagree with those two scores, which use every val seed: the count says how much it stands on.
 */
export function liftText(lift: JobView['lift_over_baseline'], digits = 3): string {
  if (!lift) return '—';
  return `${fmtSigned(lift.estimate, digits)} ${fmtInterval(lift.ci, digits)} · ${lift.source}${lift.paired ? `, paired on ${fmtCount(lift.n)} seed${lift.n === 1 ? '' : 's'}` : ''}`;
}

/**
 * "6 · 6 failed: openai is unreachable (ECONNREFUSED)", "10 · no more: the job holds 20 candidates ...":
 * the count alone read as proposals that worked, whether every one had failed or a cap had ended them.
 */
export function proposalsText(job: Pick<JobView, 'proposal_seq'> & Partial<Pick<JobView, 'failed_proposals' | 'last_proposal' | 'proposals_stopped'>>): string {
  const parts = [fmtCount(job.proposal_seq)];
  const failed = job.failed_proposals ?? 0;
  const last = job.last_proposal ?? null;
  if (failed > 0) parts.push(`${fmtCount(failed)} failed${last?.status === 'failed' && last.error ? `, the last: ${last.error}` : ''}`);
  if (job.proposals_stopped) parts.push(`no more: ${job.proposals_stopped.message}`);
  return parts.join(' · ');
}

/**
 * "2 system texts matched no module: their calls passed through unchanged". A program's call whose
 * text follows none of its templates is never optimized; only the event log said so, one event among
 * hundreds of rollouts.
 */
export function unmatchedText(n: number): string {
  return `${fmtCount(n)} system text${n === 1 ? '' : 's'} matched no module: ${n === 1 ? 'its calls' : 'their calls'} passed through unchanged (module.unmatched in the event log)`;
}

/**
 * "Calls of modules extract and answer came without a rollout id ...": each call of the bare proxy URL
 * is a rollout of its own, so one run's stages may get different candidates and its reward credits
 * one call. Only the event log said so, one event among every rollout's and reward's.
 */
export function perCallText(data: unknown): string {
  const modules = data !== null && typeof data === 'object' ? (data as { modules?: unknown }).modules : undefined;
  const named = Array.isArray(modules) && modules.length > 0 ? `Calls of modules ${modules.map(String).join(' and ')}` : 'Calls of several modules';
  return `${named} came without a rollout id, each a rollout of its own: one run's stages may get different candidates and its reward credits one call. Send every call of a run to its per-rollout URL (the proxy URL/rollout id; SDK rolloutBaseUrl) or with the x-mipro-rollout-id header (rollout.per_call in the event log)`;
}

/** "1,234 tokens · 5 calls (1,000 in, 234 out)": tokens as the providers reported them. */
export function fmtUsage(u: JobView['usage']['policy']): string {
  const calls = `${fmtCount(u.calls)} call${u.calls === 1 ? '' : 's'}`;
  return `${fmtCount(u.total_tokens)} tokens · ${calls} (${fmtCount(u.prompt_tokens)} in, ${fmtCount(u.completion_tokens)} out)`;
}

/**
 * The guard (mipro.guard) in one line, its state first: "tripped 02/12 08:31:05 · cand_a: 0.000
 * [0.000, 0.310] n=12 < confirmed 1.000 [0.840, 1.000] · serving baseline".
 */
export function guardText(g: JobView['guard'], digits = 3, status?: JobStatus): string {
  if (g.state === 'off') return 'off';
  if (g.state === 'not_serving') return `${g.mode}: starts when the job ends`;
  const monitored = g.monitored.mean === null ? 'no production rewards yet' : `${fmtScore(g.monitored.mean, digits)} ${fmtInterval(g.monitored.ci, digits)} n=${fmtCount(g.monitored.n)}`.replace(/\s+n=/, ' n=');
  const confirmed = g.confirmed ? `confirmed ${fmtScore(g.confirmed.score, digits)} ${fmtInterval(g.confirmed.ci, digits)}`.trim() : 'no confirmed score';
  if (g.state === 'tripped') {
    const serving = g.served_candidate_id !== g.candidate_id ? ` · serving ${g.served_candidate_id ?? '—'}` : '';
    return `tripped${g.tripped_at ? ` ${fmtDateTime(g.tripped_at)}` : ''} (${g.mode}) · ${g.candidate_id ?? '—'}: ${monitored} < ${confirmed}${serving}`;
  }
  // A confirmed lower bound at the bottom of the reward range is never passed: say so, or
  // "watching" reads as protection the guard cannot give (docs/API.md, Guard: can_trip).
  const inert = g.confirmed && !g.can_trip ? ' · cannot trip: confirmed lower bound at the bottom of the range' : '';
  return `watching ${watchedWhat(g, status)} · ${g.candidate_id ?? '—'}: ${monitored} vs ${confirmed}${inert}`;
}

/**
 * "(alert)" after "watching" read, on a cancelled or failed job, as a guard over a winner. Such a job
 * serves the baseline (docs/API.md, "After a job ends"): the guard watches the baseline's production
 * rewards and, there being nothing older to go back to, a trip only alerts, "revert" mode too.
 */
function watchedWhat(g: JobView['guard'], status: JobStatus | undefined): string {
  const ended = status === 'cancelled' || status === 'failed' ? `the baseline a ${status} job serves` : null;
  if (g.served_candidate_id !== 'baseline' && ended === null) return `(${g.mode})`;
  const only = g.mode === 'revert' ? 'alert only: the baseline is served already, nothing to revert to' : 'alert';
  return `${ended ?? 'the baseline'} (${only})`;
}
