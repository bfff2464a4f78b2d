/** Number and time formatting shared by the pages. */

/** Typographic minus: "−0.250" reads better than "-0.250" and matches the signed format. */
const fixed = (x: number, digits: number): string => x.toFixed(digits).replace(/^-/, '−');

export function fmtScore(x: number | null | undefined, digits = 3): string {
  return x === null || x === undefined || !Number.isFinite(x) ? '—' : fixed(x, digits);
}

/**
 * A chart's axis tick: as many decimals as the step between ticks needs, the same for every tick of
 * the axis ("0.25", "0.50" at steps of 0.25; "20", "40" at steps of 20 on a 0-100 job, not "20.00").
 */
export function fmtTick(x: number, step: number): string {
  let digits = 0;
  while (digits < 6 && Math.abs(step * 10 ** digits - Math.round(step * 10 ** digits)) > 1e-6) digits++;
  return fmtScore(x, digits);
}

/**
 * Decimals for a job's scores: three on a [0, 1] scale, one fewer per factor of ten of its width
 * (one on [0, 100], none on [0, 1000]). "63.000 [18.793, 92.608]" on a 0-100 job claimed a
 * precision no 0-100 score has.
 */
export function scoreDigits(range: readonly [number, number] | null | undefined): number {
  const width = range ? range[1] - range[0] : 1;
  if (!(width > 0) || !Number.isFinite(width)) return 3;
  return Math.min(3, Math.max(0, 3 - Math.floor(Math.log10(width) + 1e-9)));
}

/** A number as sent, its minus a typographic one. */
function withMinusSign(x: number): string {
  return String(x).replace(/^-/, '−');
}

/** "0–10", "−1–1": a declared reward range as a reader says it. */
export function fmtRange(range: readonly [number, number]): string {
  return `${withMinusSign(range[0])}–${withMinusSign(range[1])}`;
}

/**
 * One reward in its job's range, "7.00 of 0–10", with the decimals the leaderboard gives that range's
 * scores; the value as sent when the range is not known (decimals would guess its scale).
 */
export function fmtReward(x: number, range: readonly [number, number] | null): string {
  return range ? `${fmtScore(x, scoreDigits(range))} of ${fmtRange(range)}` : withMinusSign(x);
}

export function fmtSigned(x: number | null | undefined, digits = 3): string {
  if (x === null || x === undefined || !Number.isFinite(x)) return '—';
  return `${x > 0 ? '+' : x < 0 ? '−' : '±'}${Math.abs(x).toFixed(digits)}`;
}

export function fmtInterval(ci: readonly [number, number] | null | undefined, digits = 3): string {
  return ci ? `[${fixed(ci[0], digits)}, ${fixed(ci[1], digits)}]` : '';
}

export function fmtCount(n: number | null | undefined): string {
  return n === null || n === undefined ? '—' : n.toLocaleString('en-US');
}

/** "just now", "42 s ago", "5 min ago", "3 h ago", "2 d ago". */
export function fmtAge(iso: string | null | undefined, now: number = Date.now()): string {
  if (!iso) return '—';
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return '—';
  const s = Math.max(0, Math.round((now - t) / 1000));
  if (s < 5) return 'just now';
  if (s < 60) return `${s} s ago`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ago`;
  const hrs = Math.floor(m / 60);
  if (hrs < 48) return `${hrs} h ago`;
  return `${Math.floor(hrs / 24)} d ago`;
}

/**
 * Local time (HH:MM:SS) for the live line and the event log, with the day in front ("05/12 15:03:07")
 * when it is not today's: a job runs for days, and its creation three days ago read as this afternoon.
 */
export function fmtClock(iso: string, now: number = Date.now()): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  const time = d.toLocaleTimeString('en-GB', { hour12: false });
  if (d.toDateString() === new Date(now).toDateString()) return time;
  const sameYear = d.getFullYear() === new Date(now).getFullYear();
  return `${d.toLocaleDateString('en-GB', sameYear ? { day: '2-digit', month: '2-digit' } : { day: '2-digit', month: '2-digit', year: 'numeric' })} ${time}`;
}

export function fmtDateTime(iso: string | null | undefined): string {
  if (!iso) return '—';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toLocaleString('en-GB', { hour12: false });
}

/** First `max` characters on one line, for collapsed instruction previews. */
export function preview(text: string, max = 90): string {
  const one = text.replace(/\s+/g, ' ').trim();
  if (one.length <= max) return one;
  // Cut on a code point: half of an emoji (a lone high surrogate) is drawn as a replacement box.
  const end = /[\uD800-\uDBFF]/.test(one.charAt(max - 2)) ? max - 2 : max - 1;
  return `${one.slice(0, end)}…`;
}
