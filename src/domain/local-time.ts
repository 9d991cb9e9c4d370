/**
 * Local calendar time under a fixed UTC offset, by integer arithmetic only.
 *
 * Billing calls this for every reading, so it avoids Intl and Date: the campus config gives
 * one fixed offset (480 for China, no DST), and `at + offset` is converted to a civil date
 * with Howard Hinnant's days-from-civil inverse (proleptic Gregorian calendar).
 */

export const MS_PER_MINUTE = 60_000;
export const MS_PER_DAY = 86_400_000;
/** Real-world offsets lie within UTC-12:00..UTC+14:00; allow a symmetric +-14 h. */
export const MAX_UTC_OFFSET_MINUTES = 14 * 60;

export interface LocalTime {
  readonly year: number;
  /** 1..12 */
  readonly month: number;
  /** 1..31 */
  readonly day: number;
  /** 0 = Sunday .. 6 = Saturday */
  readonly weekday: number;
  /** Milliseconds since local midnight, 0..86_399_999. */
  readonly msOfDay: number;
}

export function assertUtcOffset(utcOffsetMinutes: number): void {
  if (!Number.isInteger(utcOffsetMinutes) || Math.abs(utcOffsetMinutes) > MAX_UTC_OFFSET_MINUTES) {
    throw new RangeError(
      `utcOffsetMinutes must be an integer within +-${MAX_UTC_OFFSET_MINUTES}, got ${utcOffsetMinutes}`,
    );
  }
}

/** 9999-12-31T00:00Z: keeps local years at four digits, so month keys sort as strings. */
export const MAX_EPOCH_MS = 253_402_214_400_000;

export function assertEpochMs(at: number): void {
  if (!Number.isSafeInteger(at) || at < 0 || at > MAX_EPOCH_MS) {
    throw new RangeError(`at must be an integer epoch ms in 0..${MAX_EPOCH_MS}, got ${at}`);
  }
}

export function toLocalTime(at: number, utcOffsetMinutes: number): LocalTime {
  assertEpochMs(at);
  assertUtcOffset(utcOffsetMinutes);
  const shifted = at + utcOffsetMinutes * MS_PER_MINUTE;
  const days = Math.floor(shifted / MS_PER_DAY);
  const msOfDay = shifted - days * MS_PER_DAY;
  // 1970-01-01 was a Thursday (4).
  const weekday = (((days + 4) % 7) + 7) % 7;

  // civil_from_days (http://howardhinnant.github.io/date_algorithms.html)
  const z = days + 719_468;
  const era = Math.floor(z / 146_097);
  const doe = z - era * 146_097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36_524) - Math.floor(doe / 146_096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const day = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const month = mp < 10 ? mp + 3 : mp - 9;
  const year = yoe + era * 400 + (month <= 2 ? 1 : 0);
  return { year, month, day, weekday, msOfDay };
}

/** 'YYYY-MM' of a local time; sorts lexicographically in calendar order for years 1000..9999. */
export function monthKeyOf(local: LocalTime): string {
  return `${String(local.year).padStart(4, '0')}-${String(local.month).padStart(2, '0')}`;
}

export function localMonthKey(at: number, utcOffsetMinutes: number): string {
  return monthKeyOf(toLocalTime(at, utcOffsetMinutes));
}

const MONTH_KEY = /^\d{4}-(0[1-9]|1[0-2])$/;

export function isMonthKey(value: unknown): value is string {
  return typeof value === 'string' && MONTH_KEY.test(value);
}

/**
 * Parses a strict 'HH:MM' (00:00..23:59) into minutes since midnight, or returns null.
 * '24:00' is rejected: a period ending at midnight is written with `to: '00:00'`.
 */
export function parseClockMinutes(value: unknown): number | null {
  if (typeof value !== 'string' || value.length !== 5 || value.charCodeAt(2) !== 58 /* ':' */) return null;
  const h1 = value.charCodeAt(0) - 48;
  const h2 = value.charCodeAt(1) - 48;
  const m1 = value.charCodeAt(3) - 48;
  const m2 = value.charCodeAt(4) - 48;
  if (h1 < 0 || h1 > 9 || h2 < 0 || h2 > 9 || m1 < 0 || m1 > 5 || m2 < 0 || m2 > 9) return null;
  const hours = h1 * 10 + h2;
  if (hours > 23) return null;
  return hours * 60 + m1 * 10 + m2;
}

export function formatClockMinutes(minutes: number): string {
  return `${String(Math.floor(minutes / 60)).padStart(2, '0')}:${String(minutes % 60).padStart(2, '0')}`;
}
