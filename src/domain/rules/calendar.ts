/**
 * The campus calendar: semesters and holidays as ranges of local dates, and the integer
 * day arithmetic the schedule rules share (no Date, no Intl).
 *
 * A local day is counted from 1970-01-01 in local time: day = floor(wall clock / 1 day), the wall
 * clock from the campus's zone (`wallClockMs`, daylight saving followed; a day may last 23 or 25 h).
 * A day is a holiday when it lies in a holiday range, or when semesters are configured and
 * it lies in none of them (the vacation between two semesters). Ranges are inclusive at
 * both ends and start / end at local midnight.
 */
import { localToInstant, MAX_UTC_OFFSET_MINUTES, MS_PER_DAY, wallClockMs, type TimeZone } from '../local-time.ts';
import {
  InvalidField,
  checkArray,
  checkName,
  readObject,
  validated,
  deepFreeze,
  type ConfigValidation,
} from './config-validation.ts';

/** Local dates 'YYYY-MM-DD', both inclusive. */
export interface DateRange {
  readonly name: string;
  readonly from: string;
  readonly to: string;
}

export interface CalendarConfig {
  /** Teaching periods. Empty = no semester calendar: only `holidays` count. */
  readonly semesters: readonly DateRange[];
  readonly holidays: readonly DateRange[];
}

export const DEFAULT_CALENDAR_CONFIG: CalendarConfig = deepFreeze({ semesters: [], holidays: [] });

export const MAX_CALENDAR_RANGES = 64;

export function localDayOf(at: number, zone: TimeZone): number {
  return Math.floor(wallClockMs(at, zone) / MS_PER_DAY);
}

/** Epoch ms of local midnight starting `day` (the first instant of the day where a switch skips midnight). */
export function localDayStartAt(day: number, zone: TimeZone): number {
  return localToInstant(day * MS_PER_DAY, zone);
}

/** 0 = Sunday .. 6 = Saturday (1970-01-01 was a Thursday). */
export function weekdayOfDay(day: number): number {
  return (((day + 4) % 7) + 7) % 7;
}

/** Days from 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's days_from_civil). */
export function dayOfCivilDate(year: number, month: number, dayOfMonth: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (month + (month > 2 ? -3 : 9)) + 2) / 5) + dayOfMonth - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146_097 + doe - 719_468;
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

function digits(value: string, start: number, count: number): number {
  let n = 0;
  for (let i = start; i < start + count; i++) {
    const d = value.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return -1;
    n = n * 10 + d;
  }
  return n;
}

/** Local day of a strict 'YYYY-MM-DD' (a real date), or null. */
export function dayOfIsoDate(value: unknown): number | null {
  if (typeof value !== 'string' || value.length !== 10) return null;
  if (value.charCodeAt(4) !== 45 /* - */ || value.charCodeAt(7) !== 45) return null;
  const year = digits(value, 0, 4);
  const month = digits(value, 5, 2);
  const dayOfMonth = digits(value, 8, 2);
  if (year < 0 || month < 1 || month > 12 || dayOfMonth < 1) return null;
  if (dayOfMonth > daysInMonth(year, month)) return null;
  return dayOfCivilDate(year, month, dayOfMonth);
}

function inRange(range: DateRange, day: number): boolean {
  const from = dayOfIsoDate(range.from);
  const to = dayOfIsoDate(range.to);
  return from !== null && to !== null && day >= from && day <= to;
}

export function isHoliday(calendar: CalendarConfig, day: number): boolean {
  for (const range of calendar.holidays) if (inRange(range, day)) return true;
  if (calendar.semesters.length === 0) return false;
  for (const range of calendar.semesters) if (inRange(range, day)) return false;
  return true;
}

/**
 * The first day after `day` at whose midnight `isHoliday` can change (a range starts, or
 * the day after a range ends), or null when no range boundary lies ahead.
 */
export function nextCalendarBoundaryDay(calendar: CalendarConfig, day: number): number | null {
  let next = Number.POSITIVE_INFINITY;
  const consider = (range: DateRange): void => {
    const from = dayOfIsoDate(range.from);
    const to = dayOfIsoDate(range.to);
    if (from !== null && from > day && from < next) next = from;
    if (to !== null && to + 1 > day && to + 1 < next) next = to + 1;
  };
  for (const range of calendar.holidays) consider(range);
  for (const range of calendar.semesters) consider(range);
  return next === Number.POSITIVE_INFINITY ? null : next;
}

export function isValidUtcOffsetMinutes(value: unknown): value is number {
  return Number.isInteger(value) && Math.abs(value as number) <= MAX_UTC_OFFSET_MINUTES;
}

export function validateCalendarConfig(value: unknown): ConfigValidation<CalendarConfig> {
  return validated(() => {
    const fields = readObject(value, '', ['semesters', 'holidays']);
    return {
      semesters: readRanges(fields['semesters'], 'semesters'),
      holidays: readRanges(fields['holidays'], 'holidays'),
    };
  });
}

function readRanges(value: unknown, path: string): DateRange[] {
  if (value === undefined) return [];
  return checkArray(value, path, MAX_CALENDAR_RANGES).map((item, i) => {
    const at = `${path}[${i}]`;
    const fields = readObject(item, at, ['name', 'from', 'to']);
    const name = checkName(fields['name'], `${at}.name`);
    const from = dayOfIsoDate(fields['from']);
    if (from === null) throw new InvalidField(`${at}.from`, "must be a date 'YYYY-MM-DD'");
    const to = dayOfIsoDate(fields['to']);
    if (to === null) throw new InvalidField(`${at}.to`, "must be a date 'YYYY-MM-DD'");
    if (to < from) throw new InvalidField(`${at}.to`, 'must not be before from');
    return { name, from: fields['from'] as string, to: fields['to'] as string };
  });
}
