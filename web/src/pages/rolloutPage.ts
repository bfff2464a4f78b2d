import { ApiError, type ApiClient } from '../api.js';
import { rolloutCall } from '../components/rolloutCall.js';
import { h, replaceChildren, setText } from '../dom.js';
import { fmtClock, fmtCount, fmtDateTime, fmtReward } from '../format.js';
import { candidateHref, jobHref } from '../router.js';
import type { JobView, RolloutView } from '../types.js';
import type { Page, Shell } from './page.js';

/**
 * One rollout of a job: the candidate that served it, its reward, and every LLM call it made in order
 * (module, system prompt as served, input messages, output), so a program's user can see what each
 * module received and answered. Read once when opened; "Refresh" reads it again (a rollout still
 * running gains calls, and its reward may come later).
 */
export function rolloutPage(api: ApiClient, shell: Shell, jobId: string, rolloutId: string): Page {
  const title = h('h1', { tabindex: '-1' }, 'Rollout ', h('code', {}, rolloutId));
  const status = h('p', { class: 'muted', role: 'status' }, 'Loading…');
  const error = h('p', { class: 'error-text', role: 'alert' });
  const refresh = h('button', { type: 'button', class: 'btn btn-small' }, 'Refresh');
  const summary = h('dl', { class: 'stats rollout-stats', hidden: true });
  const calls = h('div', { class: 'rollout-calls-body' });
  const body = h('section', { class: 'panel rollout-body', hidden: true, 'aria-labelledby': 'calls-title' },
    h('h2', { id: 'calls-title' }, 'Calls, in the order they were made'),
    calls);
  const notFoundTitle = h('h1', { id: 'rollout-not-found-title', tabindex: '-1' }, 'Rollout not found');
  const notFound = h('section', { class: 'not-found', hidden: true, 'aria-labelledby': 'rollout-not-found-title' },
    notFoundTitle,
    h('p', {}, 'Job ', h('code', {}, jobId), ' has no rollout ', h('code', {}, rolloutId), ' for the API key you signed in with. ',
      'The job may belong to another key, or the link may be mistyped.'),
    h('p', {}, h('a', { href: jobHref(jobId) }, `Back to job ${jobId}`)));
  const head = h('div', { class: 'job-header rollout-head' },
    h('div', { class: 'title-row' }, title, refresh),
    status,
    error,
    summary);
  const el = h('div', { class: 'rollout-page' },
    h('p', { class: 'breadcrumb' }, h('a', { href: jobHref(jobId) }, `← Job ${jobId}`)),
    notFound,
    head,
    body);

  let disposed = false;
  let reads = 0;
  /**
   * The job's declared reward range, read once: a bare "7" said nothing without it (of 0-1? of
   * 0-100?). Null until read, and when the job cannot be read (the reward then shows alone).
   */
  let range: JobView['reward_range'] | null = null;
  const readRange = async () => {
    if (range !== null) return;
    try {
      range = (await api.getJob(jobId)).reward_range;
    } catch {
      // The rollout's own read says what is wrong (401, 404, the server down).
    }
  };

  const load = async () => {
    // The button stays enabled (disabling it would drop keyboard focus to the page): a newer read wins.
    const read = ++reads;
    try {
      const [rollout] = await Promise.all([api.getRollout(jobId, rolloutId), readRange()]);
      if (disposed || read !== reads) return;
      setText(error, '');
      // A polite status: "Refresh" says it was done (the page looks the same when nothing changed).
      setText(status, `Read at ${fmtClock(new Date().toISOString())}`);
      render(rollout);
    } catch (err) {
      if (disposed || read !== reads) return;
      if (err instanceof ApiError && err.status === 401) return shell.unauthorized('Your API key is no longer accepted. Sign in again.');
      if (err instanceof ApiError && err.status === 404) {
        // An unknown job, another tenant's job and an unknown rollout are all a 404: one page says them.
        const hadFocus = document.activeElement === title;
        head.hidden = true;
        body.hidden = true;
        notFound.hidden = false;
        if (hadFocus) notFoundTitle.focus();
        return;
      }
      setText(status, '');
      setText(error, `Could not load the rollout: ${err instanceof Error ? err.message : String(err)}`);
    }
  };

  const render = (r: RolloutView) => {
    const stat = (name: string, label: string, ...value: Array<Node | string>) =>
      h('div', { class: `stat stat-${name}` }, h('dt', {}, label), h('dd', { 'data-stat': name }, ...value));
    replaceChildren(summary,
      // The candidate's own row on the job page (its instruction, score and demos), not the page's top.
      stat('candidate', 'Candidate', h('a', { href: candidateHref(jobId, r.candidate_id), title: `Candidate ${r.candidate_id} in the candidates table of job ${jobId}` }, r.candidate_id)),
      stat('reward', 'Reward', r.reward === null
        ? h('span', { class: 'muted' }, 'no reward yet')
        // The exact value on hover: the shown one has the leaderboard's decimals for this range.
        : h('span', { title: String(r.reward) }, fmtReward(r.reward, range))),
      stat('split', 'Split', r.split),
      stat('seed', 'Seed', r.seed === null ? '—' : String(r.seed)),
      stat('status', 'Status', r.status),
      stat('started', 'Started', h('time', { datetime: r.created_at }, fmtDateTime(r.created_at))),
      stat('updated', 'Last update', h('time', { datetime: r.updated_at }, fmtDateTime(r.updated_at))),
      stat('calls', 'Calls', fmtCount(r.call_count)),
      r.correlation_id === null ? null : stat('correlation', 'Correlation id', h('code', {}, r.correlation_id)));
    const count = Math.max(r.call_count, r.calls.length);
    const unstored = r.call_count - r.calls.length;
    replaceChildren(calls,
      r.calls.length === 0
        ? h('p', { class: 'empty' }, 'This rollout made no call through the proxy that was recorded (a reward reported for it alone, a scheduled rollout not run yet, or a call still being written).')
        : h('ol', { class: 'rollout-calls' }, ...r.calls.map((c) => rolloutCall(c, count))),
      unstored > 0 ? h('p', { class: 'muted' }, `${fmtCount(unstored)} later call${unstored === 1 ? ' was' : 's were'} answered and counted but not stored (a rollout keeps at most 256).`) : null);
    summary.hidden = false;
    body.hidden = false;
  };

  refresh.addEventListener('click', () => void load());
  void load();

  return {
    el,
    title: `Rollout ${rolloutId} · Job ${jobId} · miprox`,
    focusTarget: () => (notFound.hidden ? title : notFoundTitle),
    dispose: () => {
      disposed = true;
    },
  };
}
