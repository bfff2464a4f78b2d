/**
 * The API key for this tab. sessionStorage: it survives reloads but not closing the tab, and other tabs
 * and origins cannot read it. Never copied into URLs, the page title or logs.
 */
const KEY = 'miprox.apiKey';

export function loadKey(): string | null {
  try {
    return sessionStorage.getItem(KEY);
  } catch {
    return null; // storage disabled: the user signs in again per page load
  }
}

export function saveKey(key: string): void {
  try {
    sessionStorage.setItem(KEY, key);
  } catch {
    /* storage disabled: keep working with the in-memory key */
  }
}

export function clearKey(): void {
  try {
    sessionStorage.removeItem(KEY);
  } catch {
    /* nothing stored */
  }
}
