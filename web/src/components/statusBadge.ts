import { h } from '../dom.js';

/** Status as text plus color (never color alone). */
export function statusBadge(status: string): HTMLSpanElement {
  return h('span', { class: `badge status-${status}` }, status);
}

export function updateStatusBadge(el: HTMLElement, status: string): void {
  el.className = `badge status-${status}`;
  if (el.textContent !== status) el.textContent = status;
}
