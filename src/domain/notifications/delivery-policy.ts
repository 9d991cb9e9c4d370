/**
 * When to try a notification again, and when not to disturb anyone; pure.
 * - Backoff: attempt n (1-based) that failed waits baseMs * 2^(n-1), at most maxMs.
 * - Quiet hours [startMinute, endMinute) of the campus's local day (may wrap midnight), on the
 *   wall clock of its zone: a non-urgent notification due inside them waits for their end.
 */
import { instantsOfWallTime, localToInstant, MS_PER_DAY, MS_PER_MINUTE, toLocalTime, type TimeZone } from '../local-time.ts';

export interface QuietHours {
  /** Minutes after local midnight. */
  readonly startMinute: number;
  readonly endMinute: number;
}

export function backoffMs(attempt: number, baseMs: number, maxMs: number): number {
  return Math.min(maxMs, baseMs * 2 ** Math.max(0, attempt - 1));
}

/**
 * The end of the quiet hours `at` is inside (epoch ms), or undefined when `at` is not quiet.
 * Judged on the wall clock of the campus's zone at `at` (an IANA zone's daylight saving time
 * included): the end is the first instant whose wall time is the end minute, on the local day
 * `at` is in or the next one (a wrapping window); an end inside the hour skipped in spring is
 * the switch itself, an end inside the hour repeated in autumn its first pass (its second
 * when `at` is in the repeated hour after the first).
 */
export function quietUntil(at: number, quiet: QuietHours | null, zone: TimeZone): number | undefined {
  if (!quiet || quiet.startMinute === quiet.endMinute) return undefined;
  const local = toLocalTime(at, zone);
  const minute = local.msOfDay / MS_PER_MINUTE;
  const wraps = quiet.startMinute > quiet.endMinute;
  const inside = wraps ? minute >= quiet.startMinute || minute < quiet.endMinute : minute >= quiet.startMinute && minute < quiet.endMinute;
  if (!inside) return undefined;
  const localMidnight = Date.UTC(local.year, local.month - 1, local.day);
  const endsToday = minute < quiet.endMinute;
  const endWall = localMidnight + (endsToday ? 0 : MS_PER_DAY) + quiet.endMinute * MS_PER_MINUTE;
  // A repeated end (autumn): its first pass, or its second when `at` is already past the first.
  return instantsOfWallTime(endWall, zone).find((end) => end > at) ?? localToInstant(endWall, zone);
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
