/**
 * A campus's settings, pure: arrears (warning levels, overdraft limit, restore threshold),
 * water-electricity linkage, the time zone and the settlement policy at check-out. Stored in
 * `campuses.settings` (arrears under `arrears`) and `campuses.time_zone`; read by the actors
 * through `parseArrearsPolicy` and by settlement through `settings.settlement`.
 */
import { DEFAULT_ARREARS_POLICY, parseArrearsPolicy } from './arrears.ts';
import { validateSemesters, type Semester } from './quota.ts';
import { ZoneRules, type TimeZone } from './local-time.ts';

export type SettlementPolicyName = 'per-share' | 'none';

export interface CampusSettings {
  /** Balances (fen) below which a warning is raised, any order; stored descending. */
  readonly warningLevels: readonly number[];
  /** How far (fen) a purse may go below zero before it is cut. */
  readonly overdraftLimit: number;
  /** The balance (fen) a cut purse must reach before it is restored. */
  readonly restoreThreshold: number;
  /** A water purse in arrears cuts electricity too. */
  readonly waterArrearsCutsElectricity: boolean;
  /** IANA time zone, e.g. Asia/Shanghai. */
  readonly timeZone: string;
  readonly settlement: SettlementPolicyName;
  /** The semesters per-semester free quota policies grant for (local days, inclusive), by start. */
  readonly semesters: readonly Semester[];
}

export type SettingsCheck = { ok: true; settings: CampusSettings } | { ok: false; field: string; message: string };

const MAX_FEN = 100_000_000;

/** True when `zone` is an IANA time zone this runtime knows. */
export function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return zone.length > 0;
  } catch {
    return false;
  }
}

/**
 * The zone a campus row's days, months and wall-clock times follow: the rules of its IANA zone, or
 * (a campus stored before zones, with no `time_zone`) its fixed minute offset.
 */
export function campusZoneOf(row: { time_zone: string | null; utc_offset_minutes: number }): TimeZone {
  return row.time_zone !== null && isTimeZone(row.time_zone) ? new ZoneRules(row.time_zone) : row.utc_offset_minutes;
}

/** The IANA name of a campus row's zone (a fixed offset as its Etc/GMT zone). */
export function timeZoneNameOf(row: { time_zone: string | null; utc_offset_minutes: number }): string {
  return row.time_zone ?? fixedOffsetZone(row.utc_offset_minutes);
}

/** `campusZoneOf` with one rules object per zone name, for reading many rows at once (the rules memoize offsets). */
export function campusZoneReader(): (row: { time_zone: string | null; utc_offset_minutes: number }) => TimeZone {
  const seen = new Map<string, TimeZone>();
  return (row) => {
    const key = row.time_zone ?? `offset:${row.utc_offset_minutes}`;
    let zone = seen.get(key);
    if (zone === undefined) seen.set(key, (zone = campusZoneOf(row)));
    return zone;
  };
}

/** The zone's offset from UTC at `at`, in minutes (east positive). */
export function zoneOffsetMinutes(zone: string, at: number): number {
  const parts = new Intl.DateTimeFormat('en-US', { timeZone: zone, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit' }).formatToParts(new Date(at));
  const get = (type: string) => Number(parts.find((p) => p.type === type)?.value);
  const asUtc = Date.UTC(get('year'), get('month') - 1, get('day'), get('hour'), get('minute'), get('second'));
  return Math.round((asUtc - Math.floor(at / 1000) * 1000) / 60_000);
}

/** The settings as stored (defaults where nothing is stored). */
export function campusSettingsOf(row: { settings: Record<string, unknown>; time_zone: string | null; utc_offset_minutes: number }): CampusSettings {
  const arrears = parseArrearsPolicy(row.settings.arrears ?? DEFAULT_ARREARS_POLICY);
  const linkage = (row.settings.arrears as Record<string, unknown> | undefined)?.waterArrearsCutsElectricity;
  return {
    warningLevels: arrears.warningLevels,
    overdraftLimit: arrears.overdraftLimit,
    restoreThreshold: arrears.restoreThreshold,
    waterArrearsCutsElectricity: linkage !== false,
    timeZone: timeZoneNameOf(row),
    settlement: row.settings.settlement === 'none' ? 'none' : 'per-share',
    semesters: semestersStored(row.settings.semesters),
  };
}

function semestersStored(value: unknown): Semester[] {
  const checked = validateSemesters(value ?? []);
  return checked.ok ? checked.semesters : [];
}

/** A fixed offset as an IANA name where one exists (Etc/GMT-8 is UTC+8: the sign is inverted). */
function fixedOffsetZone(minutes: number): string {
  if (minutes === 0) return 'UTC';
  if (minutes % 60 !== 0) return 'UTC';
  const hours = minutes / 60;
  return `Etc/GMT${hours > 0 ? '-' : '+'}${Math.abs(hours)}`;
}

/** Applies a partial change to the settings; the first offending field is named. */
export function patchCampusSettings(current: CampusSettings, patch: Partial<Record<keyof CampusSettings, unknown>>): SettingsCheck {
  const next = { ...current };
  if (patch.warningLevels !== undefined) {
    const levels = patch.warningLevels;
    if (!Array.isArray(levels) || levels.length > 5) return { ok: false, field: 'warningLevels', message: 'must be an array of at most 5 balances in fen' };
    for (const [i, level] of levels.entries()) {
      if (!Number.isSafeInteger(level) || Math.abs(level as number) > MAX_FEN) return { ok: false, field: `warningLevels[${i}]`, message: `must be an integer within ±${MAX_FEN} fen` };
    }
    next.warningLevels = [...(levels as number[])].sort((a, b) => b - a);
  }
  if (patch.overdraftLimit !== undefined) {
    if (!Number.isSafeInteger(patch.overdraftLimit) || (patch.overdraftLimit as number) < 0 || (patch.overdraftLimit as number) > MAX_FEN) return { ok: false, field: 'overdraftLimit', message: `must be an integer 0..${MAX_FEN} fen` };
    next.overdraftLimit = patch.overdraftLimit as number;
  }
  if (patch.restoreThreshold !== undefined) {
    if (!Number.isSafeInteger(patch.restoreThreshold) || (patch.restoreThreshold as number) < 0 || (patch.restoreThreshold as number) > MAX_FEN) return { ok: false, field: 'restoreThreshold', message: `must be an integer 0..${MAX_FEN} fen` };
    next.restoreThreshold = patch.restoreThreshold as number;
  }
  if (patch.waterArrearsCutsElectricity !== undefined) {
    if (typeof patch.waterArrearsCutsElectricity !== 'boolean') return { ok: false, field: 'waterArrearsCutsElectricity', message: 'must be a boolean' };
    next.waterArrearsCutsElectricity = patch.waterArrearsCutsElectricity;
  }
  if (patch.timeZone !== undefined) {
    if (typeof patch.timeZone !== 'string' || !isTimeZone(patch.timeZone)) return { ok: false, field: 'timeZone', message: 'must be an IANA time zone, e.g. Asia/Shanghai' };
    next.timeZone = patch.timeZone;
  }
  if (patch.settlement !== undefined) {
    if (patch.settlement !== 'per-share' && patch.settlement !== 'none') return { ok: false, field: 'settlement', message: "must be 'per-share' or 'none'" };
    next.settlement = patch.settlement;
  }
  if (patch.semesters !== undefined) {
    const checked = validateSemesters(patch.semesters);
    if (!checked.ok) return checked;
    next.semesters = checked.semesters;
  }
  return { ok: true, settings: next };
}
