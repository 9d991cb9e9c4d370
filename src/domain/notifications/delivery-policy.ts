/**
 * When to try a notification again, and when not to disturb anyone; pure.
 * - Backoff: attempt n (1-based) that failed waits baseMs * 2^(n-1), at most maxMs.
 * - Quiet hours [startMinute, endMinute) of the campus's local day (may wrap midnight): a
 *   non-urgent notification due inside them waits for their end.
 */
export interface QuietHours {
  /** Minutes after local midnight. */
  readonly startMinute: number;
  readonly endMinute: number;
}

const DAY_MS = 86_400_000;
const MINUTE_MS = 60_000;

export function backoffMs(attempt: number, baseMs: number, maxMs: number): number {
  return Math.min(maxMs, baseMs * 2 ** Math.max(0, attempt - 1));
}

/** The end of the quiet hours `at` is inside (epoch ms), or undefined when `at` is not quiet. */
export function quietUntil(at: number, quiet: QuietHours | null, utcOffsetMinutes: number): number | undefined {
  if (!quiet || quiet.startMinute === quiet.endMinute) return undefined;
  const local = at + utcOffsetMinutes * MINUTE_MS;
  const sinceMidnight = ((local % DAY_MS) + DAY_MS) % DAY_MS;
  const minute = sinceMidnight / MINUTE_MS;
  const wraps = quiet.startMinute > quiet.endMinute;
  const inside = wraps ? minute >= quiet.startMinute || minute < quiet.endMinute : minute >= quiet.startMinute && minute < quiet.endMinute;
  if (!inside) return undefined;
  const midnight = at - sinceMidnight;
  const endToday = midnight + quiet.endMinute * MINUTE_MS;
  return endToday > at ? endToday : endToday + DAY_MS;
}

/** Parses "22:00-07:00" (campus local time); empty or "off": none. */
export function parseQuietHours(value: string | undefined): QuietHours | null {
  if (!value || value === 'off') return null;
  const m = /^(\d{2}):(\d{2})-(\d{2}):(\d{2})$/.exec(value);
  if (!m) throw new Error(`quiet hours must look like 22:00-07:00, not ${value}`);
  const [h1, m1, h2, m2] = m.slice(1).map(Number) as [number, number, number, number];
  if (h1 > 23 || h2 > 23 || m1 > 59 || m2 > 59) throw new Error(`quiet hours out of range: ${value}`);
  return { startMinute: h1 * 60 + m1, endMinute: h2 * 60 + m2 };
}
