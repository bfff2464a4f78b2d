import { h, uid } from '../dom.js';
import { fmtClock, fmtDateTime, fmtReward } from '../format.js';
import { rolloutHref } from '../router.js';
import type { EventView } from '../types.js';
import { MAX_EVENTS, NOISY_EVENTS as NOISY } from '../jobFeed.js';

/**
 * The live event log (newest first). role="log" + aria-live="polite" lets screen readers hear new
 * events without losing their place; the first batch is loaded with aria-busy so it is not read out.
 */
export class EventLog {
  readonly el: HTMLElement;
  private readonly list = h('ol', { class: 'event-log', role: 'log', 'aria-live': 'polite', 'aria-relevant': 'additions', 'aria-labelledby': 'events-title', 'aria-busy': 'true' });
  private readonly note = h('p', { class: 'muted' }, 'Loading…');

  /** `jobId`: the job whose events these are (a rollout's and a reward's link to the rollout). */
  constructor(private readonly jobId: string) {
    const id = uid('hide-noisy');
    const toggle = h('input', { type: 'checkbox', id });
    toggle.addEventListener('change', () => this.list.classList.toggle('hide-noisy', toggle.checked));
    this.el = h('section', { class: 'panel', 'aria-labelledby': 'events-title' },
      h('div', { class: 'panel-head' },
        h('h2', { id: 'events-title' }, 'Event log'),
        h('div', { class: 'checkbox' }, toggle, h('label', { for: id }, 'Hide rollout and reward events'))),
      this.note,
      h('div', { class: 'log-scroll', tabindex: '0', role: 'region', 'aria-label': 'Events, newest first' }, this.list));
  }

  setUnavailable(): void {
    this.note.textContent = 'This server does not list events.';
    this.list.setAttribute('aria-busy', 'false');
  }

  /** Adds events (in seq order) to the top. `range`: the job's reward range, which a reward is read against. */
  add(events: readonly EventView[], range: readonly [number, number] | null = null): void {
    const frag = document.createDocumentFragment();
    for (let k = events.length - 1; k >= 0; k--) {
      const e = events[k];
      if (!e) continue;
      const text = eventText(e, range);
      frag.append(h('li', { class: NOISY.has(e.event_type) ? 'noisy' : '', 'data-type': e.event_type, 'data-seq': e.seq },
        h('time', { datetime: e.created_at, title: fmtDateTime(e.created_at) }, fmtClock(e.created_at)), ' ',
        h('span', { class: 'etype' }, e.event_type.replace(/^mipro\./, '')), ' ',
        h('span', { class: 'emsg', title: text === e.message ? false : e.message }, text, rolloutLink(this.jobId, e))));
    }
    this.list.prepend(frag);
    // The newest MAX_EVENTS of each kind: rollout and reward events never push the rare ones out.
    for (const selector of ['li.noisy', 'li:not(.noisy)']) {
      const items = this.list.querySelectorAll(selector);
      for (let k = MAX_EVENTS; k < items.length; k++) items[k]?.remove();
    }
  }

  /** Called after each refresh: the first one ends the initial load. */
  loaded(): void {
    this.note.textContent = this.list.childElementCount === 0 ? 'No events yet.' : '';
    this.list.setAttribute('aria-busy', 'false');
  }
}

/**
 * What an event says. A reward's is written from its data with the job's range, as the rollout page
 * writes it ("reward 7.00 of 0–10 for cand_a"; the server's message says "reward 7 for cand_a", a
 * number without its scale); the message as sent, in the title, stays the server's text.
 */
export function eventText(e: Pick<EventView, 'event_type' | 'message' | 'data'>, range: readonly [number, number] | null): string {
  const data = e.data as Record<string, unknown> | null;
  if (e.event_type !== 'mipro.reward.received' || !range || !data || typeof data.reward !== 'number' || typeof data.candidate_id !== 'string') return e.message;
  return `reward ${fmtReward(data.reward, range)} for ${data.candidate_id}`;
}

/** A rollout's and a reward's events name their rollout in `data.rollout_id`: a link to its page. */
function rolloutLink(jobId: string, e: EventView): HTMLElement | null {
  const data = e.data as Record<string, unknown> | null;
  const id = data && typeof data.rollout_id === 'string' ? data.rollout_id : null;
  return id === null ? null : h('span', { class: 'event-rollout' }, ' · ', h('a', { href: rolloutHref(jobId, id), title: `Rollout ${id}: its calls and reward` }, `rollout ${id}`));
}
