import { localToInstant, MS_PER_DAY, toLocalTime, type TimeZone } from '../local-time.ts';

/**
 * Local calendar days as 'YYYY-MM-DD' text: what occupancy dates are made of. Pure integer
 * arithmetic under the campus's fixed UTC offset (src/domain/local-time.ts).
 */
const DAY = /^(\d{4})-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$/;

export function isLocalDay(value: unknown): value is string {
  if (typeof value !== 'string') return false;
  const match = DAY.exec(value);
  if (!match) return false;
  // Round-trip through the calendar: 2026-02-30 is not a day.
  return dayFromNumber(dayNumber(value)) === value;
}

/** Days since 1970-01-01 of a 'YYYY-MM-DD' day (the calendar, no time zone involved). */
export function dayNumber(day: string): number {
  const [y, m, d] = day.split('-').map(Number) as [number, number, number];
  return Math.floor(Date.UTC(y, m - 1, d) / MS_PER_DAY);
}

export function dayFromNumber(n: number): string {
  const date = new Date(n * MS_PER_DAY);
  return `${String(date.getUTCFullYear()).padStart(4, '0')}-${String(date.getUTCMonth() + 1).padStart(2, '0')}-${String(date.getUTCDate()).padStart(2, '0')}`;
}

export function localDayOf(at: number, zone: TimeZone): string {
  const local = toLocalTime(at, zone);
  return `${String(local.year).padStart(4, '0')}-${String(local.month).padStart(2, '0')}-${String(local.day).padStart(2, '0')}`;
}

/** The instant a local day begins (in a zone with daylight saving time, days last 23 to 25 hours). */
export function startOfLocalDay(day: string, zone: TimeZone): number {
  return localToInstant(dayNumber(day) * MS_PER_DAY, zone);
}

/** Number of days in [fromDay, toDay). */
export function daysBetween(fromDay: string, toDay: string): number {
  return dayNumber(toDay) - dayNumber(fromDay);
}
