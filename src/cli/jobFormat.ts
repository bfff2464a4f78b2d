import type { Candidate, Job, JobGuard, SessionEvent } from '../sdk/index.js';
import { headOf } from '../optimizer/core/text.js';
import { jsonText } from './output.js';
import { type TableFit, cutText, displayWidth, fitWidths, padText } from './tableWidth.js';

/** How jobs and candidates read in the terminal; shared by `jobs` and `candidates`. */

/** Scores and their bounds always with three decimals, so columns line up and 1 reads as 1.000. */
const score = (v: number): string => v.toFixed(3);

export function formatInterval(ci: readonly [number, number] | null): string {
  return ci ? `[${score(ci[0])}, ${score(ci[1])}]` : '';
}

/** `0.712 [0.650, 0.770] val` — a score is never shown without its interval when there is one. */
export function formatBestScore(job: Job): string {
  if (job.best_score === null) return '-';
  const parts = [score(job.best_score), formatInterval(job.best_score_ci), job.best_score_source ?? ''];
  return parts.filter((p) => p !== '').join(' ');
}

export function jobRow(job: Job): Record<string, unknown> {
  return {
    job_id: job.job_id,
    name: job.name,
    status: job.status,
    // max_rollouts budgets rewarded rollouts (the job ends at that many rewards), so it is shown beside them.
    rollouts: job.rollout_count,
    rewards: job.max_rollouts ? `${job.reward_count}/${job.max_rollouts}` : job.reward_count,
    best: formatBestScore(job),
    candidates: job.candidate_count ?? job.candidates?.length ?? null,
    proposals: job.proposal_seq,
    created_at: job.created_at,
  };
}

export const JOB_COLUMNS = ['job_id', 'name', 'status', 'rollouts', 'rewards', 'best', 'candidates', 'proposals', 'created_at'];

/**
 * `jobs list` on a narrow terminal: the name is cut, then the columns `jobs show` has anyway are left
 * out, least looked at first. The id (35 characters) stays whole: it is what the next command takes.
 */
export const JOB_FIT: TableFit = { flexible: { name: 16 }, drop: ['created_at', 'proposals', 'candidates', 'rollouts', 'best', 'rewards'] };

const shorten = (text: string | null, max: number): string | null => {
  if (text === null) return null;
  const flat = text.replace(/\s+/g, ' ').trim();
  // Not half of an emoji (headOf): a lone high surrogate reaches the terminal as U+FFFD.
  return flat.length > max ? `${headOf(flat, max - 1)}…` : flat;
};

/**
 * Where a child's text stops repeating its parent's: proposals often keep a long opening line, so
 * showing the first characters would make siblings read alike. Null when it starts differing early.
 */
function divergence(text: string, parent: string | undefined): number | null {
  if (parent === undefined) return null;
  let i = 0;
  while (i < text.length && i < parent.length && text[i] === parent[i]) i++;
  if (i === text.length) return null; // the same text (a demo-set child), or the parent's with a cut: from the start
  // Back to a word start a little before the difference, so the shown part reads as words.
  const from = text.lastIndexOf(' ', Math.max(0, i - 12)) + 1;
  return from >= 20 ? from : null;
}

/** The tip of a demo-set proposal. Its candidates carry `tip: null` (docs/API.md), so they are told by their text below. */
const DEMO_TIP = 'demos';

/** `siblings`: the other candidates listed, so a child's instruction can be shown from where it differs from its parent. */
export function candidateRow(c: Candidate, instructionWidth = 60, siblings: readonly Candidate[] = []): Record<string, unknown> {
  const changed = c.changed_modules ?? (c.module ? [c.module] : []);
  const parent = siblings.find((p) => p.candidate_id === c.parent_id);
  const module = changed.length === 1 ? changed[0]! : null;
  const parentText = module !== null && parent ? (parent.instructions[module] ?? undefined) : undefined;
  const flat = (t: string | null | undefined) => (t == null ? undefined : t.replace(/\s+/g, ' ').trim());
  const text = flat(module !== null ? (c.instructions[module] ?? c.instruction) : c.instruction) ?? null;
  const from = text === null || instructionWidth === Number.POSITIVE_INFINITY ? null : divergence(text, flat(parentText));
  // A child that changed only its module's demos (a demo-set proposal's, or a warm start's) keeps its
  // parent's text: without a mark it read as a copy of its parent. The server sends such children
  // `tip: null` (the tip is the proposal's), so the kept text is what tells them, when the parent is listed.
  const keptParentText = module !== null && parentText !== undefined && c.instructions[module] === parentText;
  const demos = module !== null && (keptParentText || c.tip === DEMO_TIP) ? `[${c.demos?.[module]?.length ?? 0} demos] ` : '';
  const width = instructionWidth - demos.length;
  return {
    candidate_id: c.candidate_id,
    // A flagged candidate cannot be champion, whatever its mean: without the mark a top mean that is
    // not `best` had no reason on screen (docs/API.md, "Missing rewards").
    status: c.missing_rewards_flagged ? `${c.status} (losing rewards)` : c.status,
    parent: c.parent_id,
    module: changed.join(',') || null,
    rollouts: c.rollout_count,
    rewards: c.reward_count,
    avg_reward: c.avg_reward === null ? null : score(c.avg_reward),
    ci: formatInterval(c.ci) || null,
    val: c.val_score === null ? null : score(c.val_score),
    instruction: text === null ? null : demos + (from === null ? shorten(text, width) : `…${shorten(text.slice(from), width - 1)}`),
  };
}

const CANDIDATE_COLUMNS = ['candidate_id', 'status', 'parent', 'rollouts', 'rewards', 'avg_reward', 'ci', 'val', 'instruction'];
const PROGRAM_CANDIDATE_COLUMNS = ['candidate_id', 'status', 'parent', 'module', 'rollouts', 'rewards', 'avg_reward', 'ci', 'val', 'instruction'];

/**
 * The candidates table on a narrow terminal: the instruction (and the list of changed modules) is
 * cut, then columns are left out, the mean reward with its interval last (never one without the
 * other). The ids stay whole: 21 characters each, and `add-candidate`, `jobs export --candidate` take them.
 */
export const CANDIDATE_FIT: TableFit = {
  flexible: { instruction: 20, module: 16 },
  drop: ['rollouts', 'rewards', 'val', 'parent', 'status', ['avg_reward', 'ci']],
};

/**
 * A program of several modules: a candidate sets (or inherits) one text per module. One-module jobs
 * have nothing to tell apart, so their tables stay as they were.
 */
const isMultiModule = (candidates: readonly Candidate[]): boolean =>
  candidates.some((c) => Object.keys(c.instructions).length > 1);

/** The candidates table's columns: with the module each candidate changed when the job has several. */
export function candidateColumns(candidates: readonly Candidate[]): string[] {
  return isMultiModule(candidates) ? PROGRAM_CANDIDATE_COLUMNS : CANDIDATE_COLUMNS;
}

/** The `jobs show` header: one fact per line, for people. */
export function jobDetailLines(job: Job, perCall: SessionEvent | null = null): string[] {
  const lines: Array<[string, string]> = [
    ['job', job.job_id],
    ['name', job.name == null ? '-' : job.name.replace(/\s+/g, ' ')],
    ['status', `${job.status}${job.phase ? ` (${job.phase})` : ''}`],
    ['session', job.session_id],
    ['proxy url', job.proxy_url],
    ['rollouts', String(job.rollout_count)],
    ['rewards', job.max_rollouts ? `${job.reward_count} of ${job.max_rollouts}` : String(job.reward_count)],
    ['proposals', proposalsText(job)],
    // Calls of these texts were not optimized: usually a system text that differs from its module's template.
    ...(job.unmatched_prompts ? [['unmatched', `${job.unmatched_prompts} system text${job.unmatched_prompts === 1 ? '' : 's'} matched no module and passed through unchanged (listed below; mipro.module.unmatched events)`] as [string, string]] : []),
    // Each call its own rollout: one run's stages may get different candidates, and its reward credits one call.
    ...(perCall ? [['per-call rollouts', perCallText(perCall)] as [string, string]] : []),
    ['best score', formatBestScore(job)],
    ['best candidate', job.best_candidate_id ?? '-'],
    ...losingRewardsLines(job),
    ['baseline score', job.baseline_score === null ? '-' : score(job.baseline_score)],
    // Did it improve? The champion minus the control with its interval: best score and baseline score
    // alone can tie on a few val seeds while the online evidence says more (or the other way round).
    ...(job.lift_over_baseline ? [['lift', liftText(job.lift_over_baseline)] as [string, string]] : []),
    // While the job runs the optimizer picks per rollout: nothing single is served. Paused, it neither
    // explores nor proposes: each new rollout gets the best candidate (docs/API.md, "Paused").
    ['serving', job.served_candidate_id ?? (job.status === 'paused' ? `${job.best_candidate_id ?? '-'} (paused: the best candidate, to new rollouts)` : '- (optimizing)')],
    ...(job.guard ? [['guard', formatGuard(job.guard)] as [string, string]] : []),
    ['created', job.created_at],
    ['updated', job.updated_at],
  ];
  const width = Math.max(...lines.map(([k]) => k.length));
  return lines.map(([k, v]) => `${k.padEnd(width)}  ${v}`);
}

/** A rate of rollouts without a reward, as a percentage; `-` before any rollout is past the in-flight expiry. */
const missingRate = (rate: number | null | undefined): string => (rate == null ? '-' : `${Math.round(rate * 100)}%`);

/**
 * The candidates flagged for losing rewards, one line each: such a candidate cannot be champion
 * while the gap lasts, so a mean above the best candidate's is no mistake. Nothing when none is
 * flagged (or the view has no candidates: the jobs list).
 */
function losingRewardsLines(job: Job): Array<[string, string]> {
  const flagged = (job.candidates ?? []).filter((c) => c.missing_rewards_flagged);
  if (flagged.length === 0) return [];
  const control = job.candidates?.find((c) => c.candidate_id === 'baseline');
  return flagged.map((c, i) => [i === 0 ? 'losing rewards' : '', `${c.candidate_id}: ${missingRate(c.missing_reward_rate)} of its rollouts got no reward (the control: ${missingRate(control?.missing_reward_rate)}), so it cannot be champion while the gap lasts`]);
}

/**
 * `6 (6 failed; the last: openai is unreachable (ECONNREFUSED))`, `10; no more: the job holds 20
 * candidates ...`: the count alone read as ten proposals that worked, whether they failed or the
 * candidate cap had ended them.
 */
export function proposalsText(job: Job): string {
  const parts: string[] = [];
  const failed = job.failed_proposals ?? 0;
  if (failed > 0) parts.push(`${failed} failed`);
  const last = job.last_proposal ?? null;
  if (last?.status === 'failed') parts.push(`the last: ${shorten(last.error, 200) ?? 'no reason given'}`);
  else if (last?.status === 'running') parts.push('one running');
  const stopped = job.proposals_stopped ?? null;
  return `${job.proposal_seq}${parts.length > 0 ? ` (${parts.join('; ')})` : ''}${stopped ? `; no more: ${stopped.message}` : ''}`;
}

/**
 * `+0.366 [-0.367, 1.000] online, not significant`, `-0.143 [...] val paired on 7 seeds, ...`: the
 * champion minus the control. A paired lift says on how many seeds: it uses only the seeds both ran at
 * the same time, so it can disagree with best score and baseline score, which use every val seed.
 */
export function liftText(l: NonNullable<Job['lift_over_baseline']>): string {
  const sign = l.estimate > 0 ? '+' : '';
  const pairs = l.paired ? ` paired${l.n === undefined ? '' : ` on ${l.n} seed${l.n === 1 ? '' : 's'}`}` : '';
  return `${sign}${score(l.estimate)} ${formatInterval(l.ci)} ${l.source}${pairs}, ${l.significant ? 'significant' : 'not significant'}`;
}

/**
 * The `per-call rollouts` line of a job whose program's calls came without a rollout id (its
 * `mipro.rollout.per_call` event): what happened and the fix, the modules from the event.
 */
export function perCallText(event: SessionEvent): string {
  const modules = (event.data as { modules?: unknown }).modules;
  const named = Array.isArray(modules) && modules.length > 0 ? `calls of modules ${modules.map(String).join(' and ')}` : 'calls of several modules';
  return `${named} came without a rollout id, each a rollout of its own: one run's stages may get different candidates and its reward credits one call; send every call of a run to its per-rollout URL (proxy url/ROLLOUT_ID, SDK rolloutBaseUrl) or x-mipro-rollout-id (mipro.rollout.per_call event)`;
}

/** How many unmatched texts `jobs show` lists (the first ones seen). */
export const UNMATCHED_SHOWN = 5;

/**
 * The texts that matched no module (their `mipro.module.unmatched` events, first seen first): the
 * start of each, and the declared module it nearly follows with where it leaves it.
 */
export function unmatchedLines(events: readonly SessionEvent[], total: number): string[] {
  const lines = [`texts that matched no module (${total === events.length ? 'all' : `${events.length} of ${total}`}; their calls went upstream unoptimized):`];
  for (const e of events) {
    const d = e.data as { preview?: string | null; length?: number; reason?: string; closest?: { module: string; reason: string } | null };
    const preview = d.preview == null ? '(text cleared by RETENTION_DAYS)' : unmatchedPreview(d.preview, d.length);
    lines.push(`  ${preview} (${d.length ?? '?'} characters)`);
    lines.push(d.reason === 'max_modules' ? '    discovery was full (mipro.max_modules): declare the modules with templates if system texts carry per-request content'
      : d.closest ? `    closest module ${d.closest.module}: ${d.closest.reason}` : `    ${passThroughReason(e.message) ?? 'no declared module comes close'}`);
  }
  return lines;
}

/** How much of an unmatched text one line shows: its start, and its end when the whole text is known. */
const UNMATCHED_HEAD = 60;
const UNMATCHED_TAIL = 30;

/**
 * An unmatched text as written, every character kept and whitespace escaped (`\n`, `\t`; control
 * characters as `\u` escapes, jsonText): the listing exists to find where a text leaves its template,
 * character for character, and the commonest drift is whitespace (a trailing newline, a space for a
 * newline), which `shorten`'s collapsing and trimming made invisible. A text longer than the line
 * keeps its end too when the preview holds all of it (the event keeps 200 characters), since a text
 * that "does not end as the template does" differs there.
 */
function unmatchedPreview(preview: string, length: number | undefined): string {
  if (preview.length <= UNMATCHED_HEAD + UNMATCHED_TAIL + 1) return jsonText(preview);
  const head = headOf(preview, UNMATCHED_HEAD);
  if (length !== undefined && length > preview.length) return `${jsonText(head).slice(0, -1)}…"`;
  // Not from the middle of an emoji: a tail opening on a low surrogate starts one character later.
  let from = preview.length - UNMATCHED_TAIL;
  const first = preview.charCodeAt(from);
  if (first >= 0xdc00 && first <= 0xdfff) from++;
  return `${jsonText(head).slice(0, -1)}…${jsonText(preview.slice(from)).slice(1)}`;
}

/**
 * The reason a discovering job below its cap gives in the event's message (a call that named a
 * discovered module with another text, a text too long to discover): the clause after the length.
 * "no declared module comes close" said nothing to a job that declares none.
 */
function passThroughReason(message: string): string | null {
  return /^a call's system text matched no module and was passed through unchanged \(\d+ characters\); (.+)$/s.exec(message)?.[1] ?? null;
}

/** `n=12 mean 0.000 [0.000, 0.310]`: the monitored rewards of the candidate the guard watches. */
function monitoredText(m: JobGuard['monitored']): string {
  return m.mean === null ? 'n=0' : `n=${m.n} mean ${score(m.mean)}${m.ci ? ` ${formatInterval(m.ci)}` : ''}`;
}

function confirmedText(c: JobGuard['confirmed']): string {
  return c ? `confirmed ${score(c.score)}${c.ci ? ` ${formatInterval(c.ci)}` : ''} ${c.source}` : 'no confirmed score (cannot trip)';
}

/**
 * The guard's line of `jobs show`, its state first so a trip is the first word a reader sees:
 * `TRIPPED at 2026-... (revert) for cand_a: monitored n=12 mean 0.000 [...] below confirmed 1.000 [...] online; serving baseline`.
 */
export function formatGuard(g: JobGuard): string {
  if (g.state === 'off') return 'off';
  if (g.state === 'not_serving') return `not serving yet (${g.mode}): watches what the job serves once it ends`;
  const about = `${g.candidate_id ?? '-'}: monitored ${monitoredText(g.monitored)}`;
  if (g.state === 'tripped') {
    const serving = g.served_candidate_id && g.served_candidate_id !== g.candidate_id ? `; now serving ${g.served_candidate_id}` : '';
    return `TRIPPED${g.tripped_at ? ` at ${g.tripped_at}` : ''} (${g.mode}) for ${about} below ${confirmedText(g.confirmed)}${serving}`;
  }
  return `${g.state} (${g.mode}) ${about} vs ${confirmedText(g.confirmed)}${cannotTrip(g)}`;
}

/**
 * A confirmed score whose lower bound is the bottom of the reward range (a candidate promoted after a
 * few rewards) can never be passed: the guard looks on watch and would never act. Said, with the fix.
 */
function cannotTrip(g: JobGuard): string {
  if (g.state !== 'watching' || g.can_trip !== false || g.confirmed === null) return '';
  return ' (cannot trip: the confirmed lower bound is the bottom of the reward range; measure the candidate more, e.g. on val seeds, before relying on the guard)';
}

/**
 * What `jobs show` prints under the header: the best prompt of a one-module job, or for a program
 * its modules and the best program module by module (the one best_prompt would show only the first).
 */
export function programLines(job: Job, width = Number.POSITIVE_INFINITY): string[] {
  const indent = (text: string, pad: string) => pad + text.replace(/\n/g, `\n${pad}`);
  if (job.modules.length <= 1) return job.best_prompt ? ['best prompt:', indent(job.best_prompt, '  ')] : [];
  // A table without a header, fitted like the others: the template is cut, the name (add-candidate's --module) never.
  const rows = job.modules.map((m) => [m.name, m.origin, shorten(m.template, 60) ?? '']);
  const [nameWidth, , textWidth] = fitWidths(['name', 'origin', 'template'], [Math.max(...rows.map((r) => displayWidth(r[0]!))), 10, Math.max(...rows.map((r) => displayWidth(r[2]!)))], width - 2, { flexible: { template: 30 } });
  const lines = ['modules:', ...rows.map(([name, origin, text]) => `  ${padText(name!, nameWidth ?? 0)}  ${origin!.padEnd(10)}  ${cutText(text!, textWidth ?? 0)}`)];
  if (job.best_program) {
    lines.push('', `best program (${job.best_candidate_id ?? '-'}):`);
    const demos = bestDemoCounts(job);
    for (const m of job.modules) {
      const text = job.best_program[m.name] ?? m.template;
      const marks = [...(text !== m.template ? ['changed'] : []), ...(demos[m.name] ? [`${demos[m.name]} demo${demos[m.name] === 1 ? '' : 's'}`] : [])];
      const head = `  ${m.name}:${marks.length > 0 ? ` (${marks.join(', ')})` : ''}`;
      if (text !== m.template) lines.push(head, indent(text, '    '));
      else lines.push(head, indent(unchangedPreview(text, job.job_id), '    '));
    }
  }
  return lines;
}

/**
 * Demos per module of the best candidate, from the job's candidate list. A demo-set proposal keeps
 * its parent's texts, so a best program that won by its demos read as "unchanged" everywhere.
 */
function bestDemoCounts(job: Job): Record<string, number> {
  const best = job.candidates?.find((c) => c.candidate_id === job.best_candidate_id);
  return Object.fromEntries(Object.entries(best?.demos ?? {}).map(([name, list]) => [name, list.length]));
}

/** An unchanged module's text longer than this many lines is cut to them in `jobs show`. */
export const UNCHANGED_LINES = 3;

/**
 * A module the best candidate left as its template, cut to its first lines when long. A program of
 * 16 modules with templates of a few KB printed 80 KB (600 lines), nearly all of it the templates
 * the user wrote, burying the changed texts; the whole program stays one command away.
 */
function unchangedPreview(text: string, jobId: string): string {
  const lines = text.split('\n');
  if (lines.length <= UNCHANGED_LINES + 1 && text.length <= 400) return text;
  const shown = lines.slice(0, UNCHANGED_LINES).map((l) => shorten(l, 200) ?? '').join('\n');
  return `${shown}\n… text unchanged from its template (${text.length} characters, ${lines.length} lines; all of it: miprox jobs export ${jobId})`;
}

/** The live line of `jobs watch`. */
export function progressLine(job: Job): string {
  const rewards = job.max_rollouts ? `${job.reward_count}/${job.max_rollouts}` : String(job.reward_count);
  const candidates = job.candidate_count ?? job.candidates?.length;
  return [
    `${job.status}`,
    `rollouts ${job.rollout_count}`,
    `rewards ${rewards}`,
    `best ${formatBestScore(job)}`,
    ...(candidates === undefined ? [] : [`candidates ${candidates}`]),
    `proposals ${job.proposal_seq}${job.failed_proposals ? ` (${job.failed_proposals} failed)` : ''}${job.proposals_stopped ? ' (no more)' : ''}`,
  ].join(' | ');
}
