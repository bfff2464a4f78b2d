import { h, uid } from '../dom.js';
import { fmtCount } from '../format.js';

/** A text longer than this (characters or lines) is folded to a preview of that much. */
export const FOLD_CHARS = 600;
export const FOLD_LINES = 8;

/**
 * A text that may be very long (a system prompt, a model's answer: up to 65,536 stored characters)
 * shown as its first lines, with a button that shows all of it and folds it again. Text goes in as a
 * text node: it was written by users and models. The button says how much is hidden and what it
 * opens (for screen readers), and aria-expanded says its state.
 */
export interface FoldOptions {
  /** Shown whole from the start (a text the user opened before the view was built again). */
  open?: boolean;
  /** Told each time the user opens (true) or folds (false) it. */
  onToggle?: (open: boolean) => void;
}

export function foldedText(text: string, what: string, options: FoldOptions = {}): HTMLElement {
  const box = h('div', { class: 'folded-text', dir: 'auto', id: uid('folded') });
  const short = previewOf(text);
  if (short === null) {
    box.textContent = text;
    return h('div', { class: 'folded' }, box);
  }
  const label = h('span', {});
  const button = h('button', { type: 'button', class: 'btn btn-small fold-toggle', 'aria-controls': box.id },
    label, h('span', { class: 'visually-hidden' }, ` of ${what}`));
  const show = (open: boolean) => {
    box.textContent = open ? text : short;
    label.textContent = open ? 'Show less' : `Show all (${fmtCount(text.length)} characters)`;
    button.setAttribute('aria-expanded', String(open));
  };
  show(options.open === true);
  button.addEventListener('click', () => {
    const open = button.getAttribute('aria-expanded') !== 'true';
    show(open);
    options.onToggle?.(open);
  });
  return h('div', { class: 'folded' }, box, button);
}

/** The first FOLD_LINES lines and at most FOLD_CHARS characters, with "…"; null when the text fits. */
export function previewOf(text: string): string | null {
  let end = Math.min(text.length, FOLD_CHARS);
  let lines = 0;
  for (let i = 0; i < end; i++) {
    if (text.charCodeAt(i) === 10 && ++lines === FOLD_LINES) {
      end = i;
      break;
    }
  }
  if (text.slice(end).trim() === '') return null;
  // Not half of an emoji (a lone high surrogate draws as a replacement box).
  if (end > 0 && /[\uD800-\uDBFF]/.test(text.charAt(end - 1))) end--;
  return `${text.slice(0, end).trimEnd()}…`;
}
