/** What the router shows: an element, a title, and cleanup (timers, observers) for when it leaves. */
export interface Page {
  el: HTMLElement;
  title: string;
  /** Where keyboard focus goes after navigation (the page's h1). */
  focusTarget?: () => HTMLElement | null;
  dispose(): void;
}

/** What pages may ask of the app shell. */
export interface Shell {
  /** The key stopped working (revoked, server reset): back to sign-in with a message. */
  unauthorized(message: string): void;
}
