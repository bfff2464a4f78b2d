import { ApiError, type ApiClient } from '../api.js';
import { CHAMPION_SERIES, championSeries, runningMeans, trafficShares } from '../chartData.js';
import { candidateColors } from '../colors.js';
import { confirmDialog } from '../components/confirmDialog.js';
import { EventLog } from '../components/eventLog.js';
import { ExportPanel } from '../components/exportPanel.js';
import { JobHeader, jobTitle, type JobAction } from '../components/jobHeader.js';
import { Leaderboard } from '../components/leaderboard.js';
import { LineChart } from '../components/lineChart.js';
import { ProgramPanel } from '../components/programPanel.js';
import { ProposalsTimeline } from '../components/proposals.js';
import { h, setText } from '../dom.js';
import { fmtClock, fmtScore, fmtTick, scoreDigits } from '../format.js';
import { type FeedChanges, JobFeed } from '../jobFeed.js';
import { startPolling } from '../poller.js';
import { isProgram } from '../program.js';
import { isFinal } from '../types.js';
import type { Page, Shell } from './page.js';

/** Chart values in a legend: two decimals; on an axis: the decimals the tick step needs. */
const chartNumber = (v: number, step?: number): string => (step === undefined ? fmtScore(v, 2) : fmtTick(v, step));

/** Live enough to watch a job learn, slow enough to cost nothing. */
const POLL_MS = 2000;
/** How often relative times ("5 min ago") are rewritten. */
const AGES_MS = 15_000;

/**
 * One job: header and actions, the program (jobs of several modules), leaderboard, the two charts,
 * proposals and the event log, kept live by polling while the tab is visible and the job is not final.
 * `candidateId` (a link from a rollout): the leaderboard shows that candidate's row once it is read.
 */
export function jobPage(api: ApiClient, shell: Shell, jobId: string, candidateId?: string): Page {
  const feed = new JobFeed(api, jobId);
  const header = new JobHeader(jobId, (action) => void act(action));
  const program = new ProgramPanel();
  const leaderboard = new Leaderboard((id) => void promote(id));
  if (candidateId !== undefined) leaderboard.reveal(candidateId);
  const exporter = new ExportPanel(jobId, async (format) => {
    try {
      return await api.exportProgram(jobId, format);
    } catch (err) {
      // A refused key goes to sign-in, as with every other request of the page.
      if (err instanceof ApiError && err.status === 401 && !disposed) shell.unauthorized('Your API key is no longer accepted. Sign in again.');
      throw err;
    }
  });
  const rewardChart = new LineChart({
    id: 'reward-chart', title: 'Reward over rollouts', xLabel: 'Reward #', yLabel: 'Running mean',
    caption: 'Running mean reward of each candidate against the order rewards arrived in (online and bootstrap rollouts; val rollouts are in the table).',
    format: chartNumber,
  });
  const shareChart = new LineChart({
    id: 'share-chart', title: 'Traffic share', xLabel: 'Reward #', yLabel: 'Share of rollouts', yRange: [0, 100], stacked: true,
    caption: 'Share of rewarded rollouts each candidate received, per window of consecutive rewards (bands add up to 100%).',
    format: (v) => `${Math.round(v)}%`,
  });
  /** The champion at each point of the champion chart (championSeries' championIds). */
  let champions: string[] = [];
  /** The time of the last read that succeeded (the live line's), said while reads fail. */
  let lastRead: string | null = null;
  const championChart = new LineChart({
    id: 'champion-chart', title: 'Champion score over rollouts', xLabel: 'Reward #', yLabel: 'Mean reward',
    noPoints: 'No champion yet: a candidate needs two rewards to be one.',
    caption: "The champion's online mean with a fixed-n 95% interval (Wilson for rewards in [0, 1]) after each reward: the candidate with the highest lower bound (at least two rewards). Val rollouts are left out. The header's best score carries a wider, anytime-valid interval, which stays honest however often the job is looked at.",
    format: chartNumber,
    // The line is one candidate after another: the legend says which one it is at each point.
    whose: (idx) => champions[idx] || null,
  });
  const championColors = new Map<string, string>([[CHAMPION_SERIES[0], '#1d4ed8'], [CHAMPION_SERIES[1], '#93c5fd'], [CHAMPION_SERIES[2], '#93c5fd']]);
  const proposals = new ProposalsTimeline(jobId, feed.proposalPages, {
    loaded: () => renderProposals(),
    failed: (err) => {
      if (!(err instanceof ApiError && err.status === 401)) return false;
      if (!disposed) shell.unauthorized('Your API key is no longer accepted. Sign in again.');
      return true;
    },
  });
  const events = new EventLog(jobId);
  const pageError = h('p', { class: 'error-text', role: 'alert' });
  const content = h('div', { class: 'job-body' },
    program.el,
    leaderboard.el,
    exporter.el,
    h('div', { class: 'grid-2' }, rewardChart.el, shareChart.el),
    championChart.el,
    h('div', { class: 'grid-2' }, proposals.el, events.el));
  const notFoundTitle = h('h1', { id: 'not-found-title', tabindex: '-1' }, 'Job not found');
  const notFound = h('section', { class: 'not-found', hidden: true, 'aria-labelledby': 'not-found-title' },
    notFoundTitle,
    h('p', {}, 'No job with this id belongs to the API key you signed in with. It may belong to another key, or the link may be mistyped.'),
    h('p', {}, h('a', { href: '#/jobs' }, 'See your jobs')));
  const el = h('div', { class: 'job-page' },
    h('p', { class: 'breadcrumb' }, h('a', { href: '#/jobs' }, '← All jobs')),
    pageError,
    notFound,
    header.el,
    content);

  let disposed = false;
  /**
   * Ends a confirmation still open when the page goes: left open, a modal "Cancel this job?" stayed
   * over the jobs list after Back (or over sign-in), and its button still cancelled this job.
   */
  const leaving = new AbortController();
  /**
   * Actions that changed the job (pause, resume, cancel, promote). A read that was under way when one
   * was answered may predate it: rendered into the header, it put the old state back (Resume enabled
   * again after a resume) until the next read, and disabled the button keyboard focus had just moved
   * to, dropping focus to the page. Such a read leaves the header alone; the next one brings it.
   */
  let actionsDone = 0;

  const renderProposals = () => {
    const job = feed.job;
    if (!job || disposed) return;
    const candidates = job.candidates ?? [];
    proposals.update(feed.proposals, candidates, candidateColors(candidates.map((c) => c.candidate_id)), isProgram(job), scoreDigits(job.reward_range));
  };

  const render = (changes: FeedChanges, headerStale = false) => {
    const job = feed.job;
    if (!job) return;
    const candidates = job.candidates ?? [];
    const colors = candidateColors(candidates.map((c) => c.candidate_id));
    if (changes.job) {
      if (!disposed) document.title = jobTitle(job);
      if (!headerStale) header.update(job);
      program.update(job);
      leaderboard.update(job, colors);
      exporter.sync(job.served_candidate_id ?? job.best_candidate_id, job.served_candidate_id !== null || job.status === 'paused');
    }
    if (changes.rewards || changes.job) {
      const order = candidates.map((c) => c.candidate_id);
      rewardChart.update(runningMeans(feed.rewards, order), colors, job.reward_range);
      const champion = championSeries(feed.rewards, job.reward_range);
      champions = champion.championIds;
      championChart.update(champion, championColors, job.reward_range);
      shareChart.update(trafficShares(feed.rewards, order), colors);
    }
    if (feed.unavailable.has('proposals')) proposals.setUnavailable();
    else if (changes.proposals || changes.job) renderProposals();
    // Said in the header, which the job view alone cannot tell (no count of it there).
    if (feed.perCallEvent) header.notePerCall(feed.perCallEvent.data);
    if (feed.unavailable.has('events')) events.setUnavailable();
    else {
      events.add(changes.newEvents, job.reward_range);
      events.loaded();
    }
  };

  const tick = async (): Promise<boolean> => {
    if (disposed) return false;
    const actionsBefore = actionsDone;
    try {
      const changes = await feed.refresh();
      if (disposed) return false;
      setText(pageError, '');
      render(changes, actionsDone !== actionsBefore);
    } catch (err) {
      if (disposed) return false;
      if (err instanceof ApiError && err.status === 401) {
        shell.unauthorized('Your API key is no longer accepted. Sign in again.');
        return false;
      }
      if (err instanceof ApiError && err.status === 404) {
        // Another tenant's job is a 404 too (existence never leaks): one page says both. A job shown
        // until now was deleted (an ended job watched by its guard is still polled): said so, and the
        // page stops polling instead of retrying a job that is gone.
        setText(pageError, feed.job ? `Job ${jobId} was deleted.` : `Job ${jobId} was not found for this API key.`);
        const hadTitle = document.activeElement === header.titleElement;
        content.hidden = true;
        header.el.hidden = true;
        notFound.hidden = false;
        // Focus was on the job's title, now hidden: it goes to the heading that says what happened.
        if (hadTitle) notFoundTitle.focus();
        return false;
      }
      setText(pageError, `Live update failed: ${err instanceof Error ? err.message : String(err)}. Retrying.`);
      // "Live · 18:44:52" stayed beside that alert while the server was down: the page said it was live
      // at the time of its last good read. It says what it shows now, until a read succeeds again.
      header.setLive(lastRead === null ? 'Not updating: retrying' : `Not updating: showing ${lastRead}, retrying`);
      return true;
    }
    const final = feed.job !== null && isFinal(feed.job.status);
    // A finished job still serves, and its guard may trip at any production reward: keep reading
    // while it watches, so a trip shows without a reload.
    const watched = final && feed.job?.guard.state === 'watching';
    const clock = fmtClock(new Date().toISOString());
    lastRead = clock;
    header.setLive(watched ? `Final · guard watching · ${clock}` : final ? 'Final: not updating' : `Live · ${clock}`);
    return !final || watched;
  };

  const act = async (action: JobAction) => {
    if (action === 'cancel') {
      const ok = await confirmDialog({
        title: 'Cancel this job?',
        body: `Job ${jobId} stops for good: no more proposals, and its proxy URL serves the baseline from now on. This cannot be undone.`,
        confirmLabel: 'Cancel job',
        cancelLabel: 'Keep job',
        signal: leaving.signal,
      });
      if (!ok) return;
    }
    header.setBusy(true);
    header.showError('');
    try {
      const job = await api.jobAction(jobId, action);
      if (disposed) return;
      // The header shows the new state at once; the feed keeps the job it last rendered, so the next
      // read sees the change and renders every panel (the leaderboard drops Promote after a cancel).
      header.update(job);
      actionsDone++;
      poller.poke();
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) return shell.unauthorized('Your API key is no longer accepted. Sign in again.');
      header.showError(`Could not ${action} the job: ${err instanceof Error ? err.message : String(err)}`);
    } finally {
      header.setBusy(false);
    }
  };

  /** Promote (or roll back to) a candidate: the job ends `succeeded` serving it, after a confirmation. */
  const promote = async (candidateId: string) => {
    const rollback = candidateId === 'baseline';
    const ok = await confirmDialog({
      title: rollback ? 'Roll back to the baseline?' : `Promote ${candidateId}?`,
      // A job that already ended only changes what it serves.
      body: feed.job?.status === 'succeeded'
        ? `Job ${jobId} has ended (succeeded); its proxy URL serves ${candidateId} to every new rollout from now on, instead of ${feed.job.served_candidate_id ?? 'what it serves now'}. You can promote another candidate later.`
        : `Job ${jobId} ends (succeeded) and its proxy URL serves ${candidateId} to every call from now on: no more exploration or proposals. You can promote another candidate later.`,
      confirmLabel: rollback ? 'Roll back' : 'Promote',
      cancelLabel: 'Keep as is',
      signal: leaving.signal,
    });
    if (!ok) return;
    header.setBusy(true);
    header.showError('');
    try {
      await api.promote(jobId, candidateId);
      if (disposed) return;
      actionsDone++;
      // The poller stops once a job is final, and a finished job can be promoted again: read it now,
      // and follow it again while the guard watches the promoted candidate.
      if ((await tick()) && poller.stopped()) poller = startPolling(tick, POLL_MS);
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) return shell.unauthorized('Your API key is no longer accepted. Sign in again.');
      header.showError(`Could not promote ${candidateId}: ${err instanceof Error ? err.message : String(err)}`);
    } finally {
      header.setBusy(false);
    }
  };

  let poller = startPolling(tick, POLL_MS);
  poller.poke();
  // Ages ("5 min ago") move on without new data, and after the job ends (the poller stops).
  const ages = setInterval(() => proposals.refreshAges(), AGES_MS);

  return {
    el,
    title: `Job ${jobId} · miprox`,
    // The job's title; the not-found heading before it in the page is hidden, and focusing a hidden
    // element does nothing: focus stayed on the page body after opening a job.
    focusTarget: () => (notFound.hidden ? header.titleElement : notFoundTitle),
    dispose: () => {
      disposed = true;
      leaving.abort();
      poller.stop();
      clearInterval(ages);
      rewardChart.destroy();
      championChart.destroy();
      shareChart.destroy();
      exporter.destroy();
    },
  };
}
