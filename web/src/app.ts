import { ApiClient } from './api.js';
import { h, replaceChildren } from './dom.js';
import { jobPage } from './pages/jobPage.js';
import { jobsPage } from './pages/jobsPage.js';
import { rolloutPage } from './pages/rolloutPage.js';
import type { Page, Shell } from './pages/page.js';
import { signInPage } from './pages/signIn.js';
import { parseRoute } from './router.js';
import { clearKey, loadKey, saveKey } from './session.js';

/**
 * The shell: picks the page for the hash route, keeps the navigation in step with the sign-in state,
 * and moves focus to the new page's heading (what a screen-reader user expects after navigation).
 */
export function startApp(root: { main: HTMLElement; nav: HTMLElement }): void {
  let current: Page | null = null;

  const show = (page: Page, moveFocus: boolean) => {
    current?.dispose();
    current = page;
    document.title = page.title;
    replaceChildren(root.main, page.el);
    if (moveFocus) (page.focusTarget?.() ?? root.main).focus();
  };

  const renderNav = (signedIn: boolean, routeName: string) => {
    if (!signedIn) return replaceChildren(root.nav);
    const signOut = h('button', { type: 'button', class: 'btn btn-small btn-quiet' }, 'Sign out');
    signOut.addEventListener('click', () => {
      clearKey();
      navigate('#/sign-in');
    });
    replaceChildren(root.nav, h('ul', {},
      h('li', {}, h('a', { href: '#/jobs', 'aria-current': routeName === 'jobs' ? 'page' : false }, 'Jobs')),
      h('li', {}, signOut)));
  };

  const shell: Shell = {
    unauthorized: (message) => {
      clearKey();
      renderNav(false, 'signin');
      show(signInPage({ message, onSignedIn }), true);
    },
  };

  function onSignedIn(key: string): void {
    saveKey(key);
    navigate(parseRoute(location.hash).name === 'signin' ? '#/jobs' : location.hash);
  }

  /** Changing the hash renders through hashchange; the same hash renders directly. */
  function navigate(hash: string): void {
    if (location.hash === hash || (hash === '' && location.hash === '')) render(true);
    else location.hash = hash;
  }

  function render(moveFocus: boolean): void {
    const key = loadKey();
    const route = parseRoute(location.hash);
    renderNav(key !== null, route.name);
    if (key === null) return show(signInPage({ onSignedIn }), moveFocus);
    const api = new ApiClient(key);
    if (route.name === 'job') return show(jobPage(api, shell, route.jobId, route.candidateId), moveFocus);
    if (route.name === 'rollout') return show(rolloutPage(api, shell, route.jobId, route.rolloutId), moveFocus);
    return show(jobsPage(api, shell), moveFocus);
  }

  // The routes live in the hash: the skip link's "#main" was read as one, and "Skip to content" on a
  // job page opened the jobs list instead. It moves focus to the content, as a skip link does.
  document.querySelector('a.skip-link')?.addEventListener('click', (ev) => {
    ev.preventDefault();
    root.main.focus();
  });
  window.addEventListener('hashchange', () => render(true));
  render(false);
}
