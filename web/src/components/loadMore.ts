import { h } from '../dom.js';
import type { PagedList } from '../pagedList.js';

/**
 * The button under a paged list (jobs, proposals) that loads its next page, shown while there is
 * one. It hides once the last page is in, and a keyboard user on it would drop to the page body:
 * focus goes to the first item the click brought instead.
 */
export class LoadMore<T> {
  readonly el: HTMLButtonElement;
  private readonly label: string;

  constructor(
    label: string,
    private readonly list: PagedList<T>,
    private readonly opts: {
      /** The page came in: show the list again. */
      loaded: () => void;
      failed: (err: unknown) => void;
      /** The element of an item that takes focus (a link, a heading with tabindex -1). */
      focusTarget: (item: T) => HTMLElement | null | undefined;
    },
  ) {
    this.label = label;
    this.el = h('button', { type: 'button', class: 'btn load-more', hidden: true, onclick: () => void this.load() }, label);
  }

  /** Shown while the list has more; the page calls it after each render. */
  sync(): void {
    this.el.hidden = !this.list.hasMore;
  }

  private async load(): Promise<void> {
    // Not disabled while loading: a disabled button drops keyboard focus too.
    if (this.el.getAttribute('aria-busy') === 'true') return;
    const first = this.list.items.length;
    this.el.setAttribute('aria-busy', 'true');
    this.el.textContent = 'Loading…';
    let applied: boolean;
    try {
      applied = await this.list.more();
    } catch (err) {
      this.opts.failed(err);
      return;
    } finally {
      this.el.removeAttribute('aria-busy');
      this.el.textContent = this.label;
    }
    if (!applied) return;
    const fromButton = document.activeElement === this.el;
    this.opts.loaded();
    this.sync();
    const firstNew = this.list.items[first];
    if (fromButton && this.el.hidden && firstNew !== undefined) this.opts.focusTarget(firstNew)?.focus();
  }
}
