import { ApiClient, ApiError } from '../api.js';
import { h, setText } from '../dom.js';
import type { Page } from './page.js';

/**
 * Sign-in: the key is checked by listing jobs with it before it is kept. A refused key keeps the user
 * here with a message that says what happened.
 */
export function signInPage(opts: { message?: string; onSignedIn: (key: string) => void }): Page {
  const error = h('p', { class: 'error-text', id: 'signin-error', role: 'alert' });
  const input = h('input', {
    id: 'api-key', name: 'api-key', type: 'password', required: true, autocomplete: 'off', spellcheck: 'false',
    'aria-describedby': 'api-key-help signin-error',
  });
  const submit = h('button', { type: 'submit', class: 'btn btn-primary' }, 'Sign in');
  const title = h('h1', { tabindex: '-1' }, 'Sign in');
  const form = h('form', { class: 'signin', novalidate: true },
    title,
    h('p', { class: 'muted', id: 'api-key-help' },
      'Paste a miprox API key (create one with ', h('code', {}, 'npx miprox keys create --name me'), '). It is kept in this tab only and sent in the Authorization header.'),
    h('label', { for: 'api-key' }, 'API key'),
    input,
    submit,
    error);
  if (opts.message) setText(error, opts.message);

  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const key = input.value.trim();
    if (!key) {
      setText(error, 'Enter an API key.');
      input.focus();
      return;
    }
    submit.disabled = true;
    setText(submit, 'Checking…');
    setText(error, '');
    new ApiClient(key).listJobs({ limit: 1 }).then(
      () => opts.onSignedIn(key),
      (err: unknown) => {
        submit.disabled = false;
        setText(submit, 'Sign in');
        setText(error, signInError(err));
        input.select();
        input.focus();
      },
    );
  });

  return {
    el: h('div', { class: 'signin-wrap' }, form),
    title: 'Sign in · miprox',
    focusTarget: () => input,
    dispose: () => {},
  };
}

function signInError(err: unknown): string {
  if (err instanceof ApiError) {
    if (err.status === 401) return 'This API key was not accepted (401). Check that it is complete and not revoked.';
    if (err.code === 'timeout') return `The miprox server did not answer (${err.message}). Try again.`;
    if (err.status === 0) return 'The miprox server cannot be reached. Is it running?';
    return `Sign-in failed: ${err.message} (HTTP ${err.status}).`;
  }
  return 'Sign-in failed.';
}
