/**
 * Spots a discovered system text that looks like another discovered module's text with per-request
 * content in it. Discovery keeps each distinct text as a literal module, so an app whose system text
 * carries retrieved context or user data gets a new module per request until `mipro.max_modules`,
 * and every later call passes through unoptimized. Saying so when the second such text is discovered
 * lets the app declare a template before the slots are gone. A hint only: two different prompts that
 * share a long preamble look the same to it.
 */

/** Shared characters (common start plus common end) needed, as a share of the shorter text... */
const FRAME_SHARE = 0.5;
/** ...and in characters: short texts share a few words by chance. */
const MIN_FRAME = 24;

export interface FramingModule {
  name: string;
  /** Characters the two texts share at their start and end. */
  shared: number;
}

/** The first module whose text frames `text` (same start and end, another middle), else null. Linear time. */
export function framingModule(modules: readonly { name: string; template: string }[], text: string): FramingModule | null {
  for (const m of modules) {
    const shared = sharedFrame(m.template, text);
    if (shared >= MIN_FRAME && shared >= FRAME_SHARE * Math.min(m.template.length, text.length)) return { name: m.name, shared };
  }
  return null;
}

/** Length of the common prefix plus the common suffix of what is left after it. */
function sharedFrame(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  let prefix = 0;
  while (prefix < n && a.charCodeAt(prefix) === b.charCodeAt(prefix)) prefix++;
  let suffix = 0;
  while (suffix < n - prefix && a.charCodeAt(a.length - 1 - suffix) === b.charCodeAt(b.length - 1 - suffix)) suffix++;
  return prefix + suffix;
}
