import { ApiError, type ApiClient } from '../api.js';
import { h, replaceChildren, setText, uid } from '../dom.js';
import { fmtAge, fmtCount, fmtDateTime, scoreDigits } from '../format.js';
import { PagedList } from '../pagedList.js';
import { startPolling } from '../poller.js';
import type { JobView } from '../types.js';
import { bestScore } from '../components/jobHeader.js';
import { LoadMore } from '../components/loadMore.js';
import { statusBadge } from '../components/statusBadge.js';
import type { Page, Shell } from './page.js';

const REFRESH_MS = 5000;
const STATUSES = ['running', 'paused', 'succeeded', 'failed', 'cancelled'];
/** The table's columns; on a phone each row is a card and each cell carries its column's name (data-label). */
const COLUMNS = ['Job', 'Status', 'Rollouts', 'Rewards', 'Best score [95% CI] · source', 'Candidates', 'Created'] as const;

/** Every job of the key's tenant, newest first, refreshed while visible. */
export function jobsPage(api: ApiClient, shell: Shell): Page {
  const title = h('h1', { tabindex: '-1' }, 'Jobs');
  const filterId = uid('status');
  const filter = h('select', { id: filterId },
    h('option', { value: '' }, 'All'),
    ...STATUSES.map((s) => h('option', { value: s }, s)));
  const body = h('tbody');
  const error = h('p', { class: 'error-text', role: 'alert' });
  const table = h('table', { class: 'jobs phone-cards' },
    h('caption', { class: 'visually-hidden' }, 'Jobs, newest first'),
    h('thead', {}, h('tr', {},
      ...COLUMNS.map((t, k) => h('th', { scope: 'col', class: `${k >= 2 && k !== 4 && k !== 6 ? 'num' : ''}${k === 2 ? ' rollouts-col' : ''}` }, t)))),
    body);

  const jobs = new PagedList<JobView>((cursor, limit) => api.listJobs({ limit, cursor, status: filter.value || null }));
  const more = new LoadMore('Load more', jobs, {
    loaded: () => {
      setText(error, '');
      render();
    },
    failed: (err) => reportError(err),
    focusTarget: (job) => body.querySelector<HTMLElement>(`tr[data-job="${CSS.escape(job.job_id)}"] a`),
  });
  let shown = '';

  const render = () => {
    // Same data, same DOM: a refresh must not disturb focus or a text selection.
    // The half-minute bucket lets the "age" column move on even when nothing else changed.
    const signature = JSON.stringify([jobs.items, jobs.cursor, filter.value, Math.floor(Date.now() / 30_000)]);
    if (signature === shown) return;
    shown = signature;
    const focused = (document.activeElement?.closest('tr[data-job]') as HTMLElement | null)?.dataset.job;
    if (jobs.items.length === 0) {
      replaceChildren(body, h('tr', {}, h('td', { colspan: '7', class: 'empty' },
        filter.value ? `No ${filter.value} jobs.` : 'No jobs yet. Create one with POST /api/policy-optimization/online/jobs.')));
    } else {
      replaceChildren(body, ...jobs.items.map(row));
      if (focused) body.querySelector<HTMLElement>(`tr[data-job="${CSS.escape(focused)}"] a`)?.focus();
    }
    more.sync();
  };

  const reportError = (err: unknown) => {
    if (err instanceof ApiError && err.status === 401) return shell.unauthorized('Your API key is no longer accepted. Sign in again.');
    setText(error, `Could not load jobs: ${err instanceof Error ? err.message : String(err)}`);
  };

  /**
   * The list again from the top (the 5 s refresh, a filter change). Only the answer to the newest
   * request is shown (PagedList): a slow answer for "All" arriving after the one for "paused" put
   * every job back under the "paused" filter.
   */
  const reload = async () => {
    try {
      if (!(await jobs.reload())) return;
      setText(error, '');
      render();
    } catch (err) {
      reportError(err);
    }
  };

  filter.addEventListener('change', () => {
    jobs.reset();
    void reload();
  });
  void reload();
  const poller = startPolling(async () => {
    await reload();
    return true;
  }, REFRESH_MS);

  const el = h('div', { class: 'jobs-page' },
    h('div', { class: 'page-head' }, title,
      h('div', { class: 'toolbar' }, h('label', { for: filterId }, 'Status'), filter)),
    error,
    h('div', { class: 'panel table-scroll' }, table),
    more.el);
  return { el, title: 'Jobs · miprox', focusTarget: () => title, dispose: () => poller.stop() };
}

function row(job: JobView): HTMLTableRowElement {
  const href = `#/jobs/${encodeURIComponent(job.job_id)}`;
  const tr = h('tr', { class: 'clickable', 'data-job': job.job_id },
    h('td', { class: 'card-key' }, h('a', { href }, job.name !== null ? h('span', { class: 'job-name', dir: 'auto' }, job.name) : null, h('code', {}, job.job_id))),
    h('td', { 'data-label': COLUMNS[1] }, statusBadge(job.status)),
    h('td', { class: 'num rollouts-col', 'data-label': COLUMNS[2] }, fmtCount(job.rollout_count)),
    h('td', { class: 'num', 'data-label': COLUMNS[3] }, fmtCount(job.reward_count)),
    h('td', { class: 'best', 'data-label': COLUMNS[4] }, bestScore(job, scoreDigits(job.reward_range))),
    h('td', { class: 'num', 'data-label': COLUMNS[5] }, fmtCount(job.candidate_count)),
    h('td', { class: 'created', 'data-label': COLUMNS[6] }, h('time', { datetime: job.created_at, title: fmtDateTime(job.created_at) }, fmtAge(job.created_at))));
  // The link is the keyboard path; the whole row is a convenience for the mouse.
  tr.addEventListener('click', (ev) => {
    if (!(ev.target instanceof Element) || !ev.target.closest('a')) location.hash = href;
  });
  return tr;
}
