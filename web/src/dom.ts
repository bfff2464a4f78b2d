/**
 * A tiny element builder. Text always goes in as text nodes (never innerHTML): instructions and event
 * messages are written by LLMs and users, so they must never be parsed as markup.
 */
export type Child = Node | string | number | null | undefined | false;
type Handler = (ev: Event) => void;
export type Props = Record<string, string | number | boolean | null | undefined | Handler>;

export function h<K extends keyof HTMLElementTagNameMap>(tag: K, props: Props = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (typeof value === 'function') {
      el.addEventListener(name.replace(/^on/, '').toLowerCase(), value);
    } else if (name === 'class') {
      el.className = String(value);
    } else if (name === 'style') {
      // Through the CSSOM: the Content-Security-Policy refuses style attributes but allows this.
      el.style.cssText = String(value);
    } else {
      el.setAttribute(name, value === true ? '' : String(value));
    }
  }
  append(el, ...children);
  return el;
}

export function append(parent: Node, ...children: Child[]): void {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    parent.appendChild(typeof c === 'string' || typeof c === 'number' ? document.createTextNode(String(c)) : c);
  }
}

/** Replaces all children of `parent`. */
export function replaceChildren(parent: Element, ...children: Child[]): void {
  parent.replaceChildren();
  append(parent, ...children);
}

export function setText(el: Element, text: string): void {
  if (el.textContent !== text) el.textContent = text;
}

let idCounter = 0;
/** Unique ids for label/aria wiring. */
export const uid = (prefix: string): string => `${prefix}-${++idCounter}`;
