import { h, uid } from '../dom.js';

/** A read-only value with a Copy button; the result is announced politely. */
export class CopyField {
  readonly el: HTMLDivElement;
  private readonly input: HTMLInputElement;
  private readonly status: HTMLSpanElement;

  constructor(label: string) {
    const id = uid('copy');
    this.input = h('input', { id, type: 'text', readonly: true, class: 'copy-input', spellcheck: 'false' });
    this.status = h('span', { class: 'copy-status', role: 'status', 'aria-live': 'polite' });
    const button = h('button', { type: 'button', class: 'btn btn-small', onclick: () => void this.copy() }, 'Copy');
    button.setAttribute('aria-describedby', id);
    this.el = h('div', { class: 'copy-field' }, h('label', { for: id }, label), this.input, button, this.status);
  }

  set(value: string): void {
    if (this.input.value !== value) this.input.value = value;
  }

  private async copy(): Promise<void> {
    const value = this.input.value;
    let ok = false;
    try {
      await navigator.clipboard.writeText(value);
      ok = true;
    } catch {
      // Clipboard API missing or refused (plain-http origins): fall back to selecting and copying.
      this.input.select();
      try {
        ok = document.execCommand('copy');
      } catch {
        ok = false;
      }
    }
    this.status.textContent = ok ? 'Copied' : 'Select the text and copy it';
    setTimeout(() => {
      this.status.textContent = '';
    }, 2500);
  }
}
