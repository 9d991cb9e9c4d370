/**
 * Lights-off schedule of the lighting circuit: one lights-off period per night of the week,
 * the holiday calendar, and an operator override with an expiry.
 *
 * A night is keyed by the weekday of its evening. It starts at `lightsOff` on that day, or
 * on the next day when `lightsOff` is before 12:00 ('friday': lightsOff '00:30' starts on
 * Saturday at 00:30), and ends at the first `lightsOn` after its start, so it may cross
 * midnight. Periods are half-open: at exactly `lightsOff` the lights are off, at exactly
 * `lightsOn` they are on again.
 */
import { formatClockMinutes, localToInstant, MS_PER_DAY, MS_PER_MINUTE, parseClockMinutes, toLocalTime, wallClockMs, type TimeZone } from '../local-time.ts';
import {
  isHoliday,
  localDayOf,
  localDayStartAt,
  nextCalendarBoundaryDay,
  weekdayOfDay,
  type CalendarConfig,
} from './calendar.ts';
import {
  InvalidField,
  deepFreeze,
  readObject,
  validated,
  type ConfigValidation,
} from './config-validation.ts';
import { NO_VERDICT, actionVerdict, type RuleResult } from './rule-verdict.ts';

export type Weekday = 'sunday' | 'monday' | 'tuesday' | 'wednesday' | 'thursday' | 'friday' | 'saturday';

/** Index = `weekdayOfDay(day)`: 0 = Sunday. */
export const WEEKDAYS: readonly Weekday[] = [
  'sunday',
  'monday',
  'tuesday',
  'wednesday',
  'thursday',
  'friday',
  'saturday',
];

export interface NightSchedule {
  /** 'HH:MM' local. Before 12:00 means after midnight, on the next calendar day. */
  readonly lightsOff: string;
  /** 'HH:MM' local; the first such time after lights-off. Must differ from lightsOff. */
  readonly lightsOn: string;
}

export interface LightingScheduleConfig {
  /** null = no lights-off that night. */
  readonly nights: Readonly<Record<Weekday, NightSchedule | null>>;
}

const EVERY_NIGHT: NightSchedule = { lightsOff: '23:30', lightsOn: '06:30' };

export const DEFAULT_LIGHTING_SCHEDULE_CONFIG: LightingScheduleConfig = deepFreeze({
  nights: {
    sunday: EVERY_NIGHT,
    monday: EVERY_NIGHT,
    tuesday: EVERY_NIGHT,
    wednesday: EVERY_NIGHT,
    thursday: EVERY_NIGHT,
    friday: EVERY_NIGHT,
    saturday: EVERY_NIGHT,
  },
});

/** Forces the lights on or off until `untilAt` (exclusive, epoch ms). */
export interface LightingOverride {
  readonly lightsOn: boolean;
  readonly untilAt: number;
}

export interface LightingPhase {
  readonly lightsOn: boolean;
  readonly holiday: boolean;
  /**
   * Epoch ms of the next instant at which `lightsOn` or `holiday` changes. When nothing
   * changes within `PHASE_HORIZON_MS`, it is `at + PHASE_HORIZON_MS`: a re-check, not a
   * change (it keeps timers below setTimeout's 24.8-day limit).
   */
  readonly nextChangeAt: number;
}

export const PHASE_HORIZON_MS = 7 * MS_PER_DAY;

const MINUTES_PER_DAY = 1440;
/** A lights-off time before noon belongs to the morning after the named evening. */
const NIGHT_PIVOT_MINUTE = 720;

function nightOf(schedule: LightingScheduleConfig, day: number): NightSchedule | null {
  return schedule.nights[WEEKDAYS[weekdayOfDay(day)]!];
}

/** Local minutes since 1970-01-01 at which the night of `day`'s evening starts (NaN if bad). */
function nightStartMinute(night: NightSchedule, day: number): number {
  const off = parseClockMinutes(night.lightsOff) ?? Number.NaN;
  return day * MINUTES_PER_DAY + off + (off < NIGHT_PIVOT_MINUTE ? MINUTES_PER_DAY : 0);
}

function nightLengthMinutes(night: NightSchedule): number {
  const off = parseClockMinutes(night.lightsOff) ?? Number.NaN;
  const on = parseClockMinutes(night.lightsOn) ?? Number.NaN;
  return (on - off + MINUTES_PER_DAY) % MINUTES_PER_DAY;
}

/** Whether the schedule alone has the lights on at local ms `localMs`. */
function scheduledLightsOn(schedule: LightingScheduleConfig, localMs: number): boolean {
  const minute = Math.floor(localMs / MS_PER_MINUTE);
  const day = Math.floor(localMs / MS_PER_DAY);
  // A night starts between noon of its evening and noon of the next day and lasts under
  // 24 h, so only the nights of the last three evenings can cover a minute of today.
  for (let d = day - 2; d <= day; d++) {
    const night = nightOf(schedule, d);
    if (night === null) continue;
    const start = nightStartMinute(night, d);
    if (minute >= start && minute < start + nightLengthMinutes(night)) return false;
  }
  return true;
}

/** First schedule boundary strictly after local ms `localMs`, in local ms; null if none within 9 days. */
function nextScheduleBoundary(schedule: LightingScheduleConfig, localMs: number): number | null {
  const day = Math.floor(localMs / MS_PER_DAY);
  // Nights do not overlap (validated), so boundaries rise with d: the first found is the next.
  for (let d = day - 2; d <= day + 8; d++) {
    const night = nightOf(schedule, d);
    if (night === null) continue;
    const start = nightStartMinute(night, d) * MS_PER_MINUTE;
    if (start > localMs) return start;
    const end = start + nightLengthMinutes(night) * MS_PER_MINUTE;
    if (end > localMs) return end;
  }
  return null;
}

function lightsOnAt(
  schedule: LightingScheduleConfig,
  override: LightingOverride | null,
  at: number,
  zone: TimeZone,
): boolean {
  if (override !== null && at < override.untilAt) return override.lightsOn;
  return scheduledLightsOn(schedule, wallClockMs(at, zone));
}

export function lightingPhase(
  schedule: LightingScheduleConfig,
  calendar: CalendarConfig,
  override: LightingOverride | null,
  at: number,
  zone: TimeZone,
): LightingPhase {
  const lightsOn = lightsOnAt(schedule, override, at, zone);
  const holiday = isHoliday(calendar, localDayOf(at, zone));
  const horizon = at + PHASE_HORIZON_MS;
  // Walk the candidate instants (schedule boundaries, calendar midnights, override expiry)
  // until one actually changes the phase.
  let t = at;
  for (;;) {
    let next = horizon;
    // Wall times become instants by the zone's rules: one in the skipped hour at the switch,
    // one in the repeated hour at its first occurrence (the wall clock never runs back).
    const boundary = nextScheduleBoundary(schedule, wallClockMs(t, zone));
    if (boundary !== null) next = Math.min(next, Math.max(t + 1, localToInstant(boundary, zone)));
    const calendarDay = nextCalendarBoundaryDay(calendar, localDayOf(t, zone));
    if (calendarDay !== null) next = Math.min(next, Math.max(t + 1, localDayStartAt(calendarDay, zone)));
    if (override !== null && override.untilAt > t) next = Math.min(next, override.untilAt);
    if (next >= horizon) return { lightsOn, holiday, nextChangeAt: horizon };
    t = next;
    if (
      lightsOnAt(schedule, override, t, zone) !== lightsOn ||
      isHoliday(calendar, localDayOf(t, zone)) !== holiday
    ) {
      return { lightsOn, holiday, nextChangeAt: t };
    }
  }
}

// --- the rule: what the lighting circuit's relay should be ---------------------------------

/** What the rule last told the actor: 'unknown' until the first evaluation. */
export type LightingSupply = 'unknown' | 'on' | 'lights_off' | 'holiday';

export interface LightingScheduleState {
  readonly supply: LightingSupply;
}

const STATES: Readonly<Record<LightingSupply, LightingScheduleState>> = deepFreeze({
  unknown: { supply: 'unknown' },
  on: { supply: 'on' },
  lights_off: { supply: 'lights_off' },
  holiday: { supply: 'holiday' },
});

export function initialLightingScheduleState(): LightingScheduleState {
  return STATES.unknown;
}

export interface LightingScheduleInput {
  readonly at: number;
  /** The campus's zone: the schedule's times are its wall-clock times (daylight saving followed). */
  readonly zone: TimeZone;
  /** The campus calendar (configured per campus, not per building). */
  readonly calendar: CalendarConfig;
  readonly override: LightingOverride | null;
  /** The dormitory is flagged to have its supply off on holidays. */
  readonly holidayOff: boolean;
}

export interface LightingScheduleResult extends RuleResult<LightingScheduleState> {
  /** Schedule the next evaluation at `phase.nextChangeAt`. */
  readonly phase: LightingPhase;
}

/**
 * Verdict for the lighting circuit, emitted only when the wanted supply changes (and once
 * at start, from 'unknown', so the actor aligns the relay). Holiday-off wins over an
 * override: the override forces the lights, not the dormitory's holiday supply. The socket
 * and AC circuits of a `holidayOff` dormitory follow `phase.holiday` in the actor.
 */
export function evaluateLightingSchedule(
  config: LightingScheduleConfig,
  state: LightingScheduleState,
  input: LightingScheduleInput,
): LightingScheduleResult {
  const { at, zone, override } = input;
  const phase = lightingPhase(config, input.calendar, override, at, zone);
  const wanted: Exclude<LightingSupply, 'unknown'> =
    input.holidayOff && phase.holiday ? 'holiday' : phase.lightsOn ? 'on' : 'lights_off';
  if (wanted === state.supply) return { state, verdict: NO_VERDICT, phase };
  const overridden = override !== null && at < override.untilAt;
  const until = formatLocalClock(lightsChangeAt(config, input, phase), zone);
  switch (wanted) {
    case 'holiday':
      return { state: STATES.holiday, verdict: actionVerdict('cut', 'holiday', 'holiday: supply off'), phase };
    case 'lights_off':
      return {
        state: STATES.lights_off,
        verdict: actionVerdict(
          'cut',
          'lights_off',
          overridden ? `operator override: lights off until ${until}` : `scheduled lights-off until ${until}`,
        ),
        phase,
      };
    case 'on':
      return {
        state: STATES.on,
        verdict: actionVerdict(
          'restore',
          state.supply === 'holiday' ? 'holiday' : 'lights_off',
          overridden ? `operator override: lights on until ${until}` : 'lights on',
        ),
        phase,
      };
  }
}

/** When `lightsOn` next flips, skipping holiday-only changes (for verdict details only). */
function lightsChangeAt(config: LightingScheduleConfig, input: LightingScheduleInput, phase: LightingPhase): number {
  let t = phase.nextChangeAt;
  for (let i = 0; i < 16 && t < input.at + PHASE_HORIZON_MS; i++) {
    const next = lightingPhase(config, input.calendar, input.override, t, input.zone);
    if (next.lightsOn !== phase.lightsOn) return t;
    t = next.nextChangeAt;
  }
  return t;
}

function formatLocalClock(at: number, zone: TimeZone): string {
  return formatClockMinutes(Math.floor(toLocalTime(at, zone).msOfDay / MS_PER_MINUTE));
}

export function validateLightingScheduleConfig(value: unknown): ConfigValidation<LightingScheduleConfig> {
  return validated(() => {
    const fields = readObject(value, '', ['nights']);
    if (fields['nights'] === undefined) return DEFAULT_LIGHTING_SCHEDULE_CONFIG;
    const given = readObject(fields['nights'], 'nights', WEEKDAYS);
    const nights = {} as Record<Weekday, NightSchedule | null>;
    for (const weekday of WEEKDAYS) {
      const path = `nights.${weekday}`;
      const raw = given[weekday];
      nights[weekday] = raw === undefined ? DEFAULT_LIGHTING_SCHEDULE_CONFIG.nights[weekday] : readNight(raw, path);
    }
    // Night d must end before night d+1 starts (cyclically over the week).
    for (let d = 0; d < 7; d++) {
      const night = nights[WEEKDAYS[d]!];
      const following = nights[WEEKDAYS[(d + 1) % 7]!];
      if (night === null || following === null) continue;
      const end = nightStartMinute(night, d) + nightLengthMinutes(night);
      if (end > nightStartMinute(following, d + 1)) {
        throw new InvalidField(`nights.${WEEKDAYS[d]!}`, `ends after ${WEEKDAYS[(d + 1) % 7]!} night starts`);
      }
    }
    return { nights };
  });
}

function readNight(value: unknown, path: string): NightSchedule | null {
  if (value === null) return null;
  const fields = readObject(value, path, ['lightsOff', 'lightsOn']);
  const off = parseClockMinutes(fields['lightsOff']);
  if (off === null) throw new InvalidField(`${path}.lightsOff`, "must be 'HH:MM' (00:00..23:59, local time)");
  const on = parseClockMinutes(fields['lightsOn']);
  if (on === null) throw new InvalidField(`${path}.lightsOn`, "must be 'HH:MM' (00:00..23:59, local time)");
  if (on === off) throw new InvalidField(`${path}.lightsOn`, 'must differ from lightsOff');
  return { lightsOff: fields['lightsOff'] as string, lightsOn: fields['lightsOn'] as string };
}
