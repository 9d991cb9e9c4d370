/**
 * Local calendar time in a campus's time zone.
 *
 * A zone is a fixed offset in minutes east of UTC (480 for China) or the rules of an IANA zone
 * (`ZoneRules`, e.g. Europe/Berlin with its daylight saving time), whose offset at an instant comes
 * from Intl and is memoized per 15 minutes inside the rules object (every offset in use is a
 * multiple of 15 minutes, so no transition falls inside a slot). `at + offset(at)` is converted to
 * a civil date with Howard Hinnant's days-from-civil inverse (proleptic Gregorian calendar).
 * The other way, a local wall time is an instant by `localToInstant`: a time that does not exist
 * (the hour skipped in spring) is the instant after the gap, a time that happens twice (autumn)
 * its first occurrence.
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

/** The rules of an IANA time zone: its offset at any instant, through Intl, memoized here. */
export class ZoneRules {
  private readonly format: Intl.DateTimeFormat;
  /** Offset (minutes) by 15-minute slot of UTC time; cleared when it grows large. */
  private readonly offsets = new Map<number, number>();

  constructor(readonly name: string) {
    this.format = new Intl.DateTimeFormat('en-US', { timeZone: name, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric' });
  }

  /** Minutes east of UTC in force at `at`. */
  offsetAt(at: number): number {
    const slot = Math.floor(at / OFFSET_SLOT_MS);
    const known = this.offsets.get(slot);
    if (known !== undefined) return known;
    const start = slot * OFFSET_SLOT_MS;
    const parts = this.format.formatToParts(new Date(start));
    const get = (type: string) => Number(parts.find((p) => p.type === type)?.value);
    const offset = Math.round((Date.UTC(get('year'), get('month') - 1, get('day'), get('hour'), get('minute')) - start) / MS_PER_MINUTE);
    if (this.offsets.size >= 50_000) this.offsets.clear();
    this.offsets.set(slot, offset);
    return offset;
  }
}

const OFFSET_SLOT_MS = 15 * MS_PER_MINUTE;

/** A campus's time zone: a fixed offset in minutes east of UTC, or an IANA zone's rules. */
export type TimeZone = number | ZoneRules;

/** A zone's identity: its IANA name, or `UTC+480` style for a fixed offset in minutes. */
export function zoneKeyOf(zone: TimeZone): string {
  return typeof zone === 'number' ? `UTC${zone >= 0 ? '+' : ''}${zone}` : zone.name;
}

/** The zone's offset from UTC at `at`, minutes east. */
export function offsetAt(zone: TimeZone, at: number): number {
  if (typeof zone !== 'number') return zone.offsetAt(at);
  assertUtcOffset(zone);
  return zone;
}

/** Every instant whose wall time in `zone` is `localMs` (the local date and time written as UTC): two in a repeated hour, none in a skipped one. */
export function instantsOfWallTime(localMs: number, zone: TimeZone): number[] {
  if (typeof zone === 'number') return [localMs - offsetAt(zone, localMs) * MS_PER_MINUTE];
  const offsets = new Set([zone.offsetAt(localMs - MS_PER_DAY), zone.offsetAt(localMs + MS_PER_DAY)]);
  return [...offsets].map((o) => localMs - o * MS_PER_MINUTE).filter((at) => at + zone.offsetAt(at) * MS_PER_MINUTE === localMs).sort((a, b) => a - b);
}

/** The instants strictly inside (fromMs, toMs) where the zone's offset changes (daylight saving switches). */
export function offsetTransitions(zone: TimeZone, fromMs: number, toMs: number): number[] {
  if (typeof zone === 'number' || toMs - fromMs <= 0) return [];
  const out: number[] = [];
  const STEP = 6 * 60 * MS_PER_MINUTE;
  for (let lo = fromMs; lo < toMs; lo += STEP) {
    const hi = Math.min(lo + STEP, toMs);
    if (zone.offsetAt(lo) === zone.offsetAt(hi)) continue;
    // The first 15-minute slot with the new offset (transitions fall on slot starts).
    let a = Math.floor(lo / OFFSET_SLOT_MS);
    let b = Math.floor(hi / OFFSET_SLOT_MS);
    const before = zone.offsetAt(lo);
    while (b - a > 1) {
      const mid = Math.floor((a + b) / 2);
      if (zone.offsetAt(mid * OFFSET_SLOT_MS) === before) a = mid;
      else b = mid;
    }
    const at = b * OFFSET_SLOT_MS;
    if (at > fromMs && at < toMs) out.push(at);
  }
  return out;
}

/**
 * The first instant whose wall time in `zone` is `localMs` or later: the wall time's first
 * occurrence (a repeated hour in autumn), or the switch that skips it (the hour lost in spring).
 */
export function localToInstant(localMs: number, zone: TimeZone): number {
  const instants = instantsOfWallTime(localMs, zone);
  if (instants.length > 0) return instants[0]!;
  const rules = zone as ZoneRules;
  const earliest = localMs - rules.offsetAt(localMs + MS_PER_DAY) * MS_PER_MINUTE;
  const latest = localMs - rules.offsetAt(localMs - MS_PER_DAY) * MS_PER_MINUTE;
  return offsetTransitions(zone, earliest - OFFSET_SLOT_MS, latest + OFFSET_SLOT_MS)[0] ?? latest;
}

/**
 * The local wall time (written as UTC ms) an instant acts on, for schedules of wall-clock times:
 * `at + offset`, except in the second pass of a repeated hour (autumn), which keeps the wall time
 * at the end of the first pass (the fold's end less 1 ms). So the wall clock a schedule reads
 * never runs backwards: a time in the repeated hour acts once, at its first occurrence, and a
 * time in the skipped hour (spring) is passed at the switch, the first instant after it.
 */
export function wallClockMs(at: number, zone: TimeZone): number {
  const local = at + offsetAt(zone, at) * MS_PER_MINUTE;
  if (typeof zone === 'number') return local;
  const instants = instantsOfWallTime(local, zone);
  if (instants.length < 2 || instants[0]! >= at) return local;
  const switchAt = offsetTransitions(zone, instants[0]!, at + 1).at(-1) ?? at;
  return switchAt + zone.offsetAt(switchAt - 1) * MS_PER_MINUTE - 1;
}

export function toLocalTime(at: number, zone: TimeZone): LocalTime {
  assertEpochMs(at);
  const shifted = at + offsetAt(zone, at) * MS_PER_MINUTE;
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

export function localMonthKey(at: number, zone: TimeZone): string {
  return monthKeyOf(toLocalTime(at, zone));
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
