import { h } from '../dom.js';

/**
 * A modal confirmation on the native <dialog>: focus is trapped and Escape cancels. The safe choice
 * has focus first, so a stray Enter does not destroy anything.
 */
export function confirmDialog(opts: { title: string; body: string; confirmLabel: string; cancelLabel: string; signal?: AbortSignal }): Promise<boolean> {
  return new Promise((resolve) => {
    const titleId = 'confirm-title';
    const keep = h('button', { type: 'button', class: 'btn', value: 'cancel' }, opts.cancelLabel);
    const confirm = h('button', { type: 'button', class: 'btn btn-danger', value: 'confirm' }, opts.confirmLabel);
    const dialog = h('dialog', { class: 'confirm', 'aria-labelledby': titleId },
      h('h2', { id: titleId }, opts.title),
      h('p', {}, opts.body),
      h('div', { class: 'dialog-actions' }, keep, confirm));
    let answered = false;
    const finish = (ok: boolean) => {
      if (answered) return;
      answered = true;
      if (dialog.open) dialog.close();
      dialog.remove();
      resolve(ok);
    };
    keep.addEventListener('click', () => finish(false));
    confirm.addEventListener('click', () => finish(true));
    dialog.addEventListener('close', () => finish(false));
    // The page that asked is gone (Back, a sign-in): its question goes with it, answered "no".
    if (opts.signal?.aborted) return finish(false);
    opts.signal?.addEventListener('abort', () => finish(false), { once: true });
    document.body.append(dialog);
    dialog.showModal();
    keep.focus();
  });
}
