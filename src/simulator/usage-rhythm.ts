/**
 * When a lived-in room uses what: pure functions of local time (campus UTC offset), season
 * and an appliance's noise key. Time is quantised into one-minute slots; a load is
 * constant within a slot, which is what makes lazy integration exact and cheap.
 *
 * Each appliance kind has usage windows per season (lights in the evening, chargers at
 * night, AC on summer evenings and nights). Every day each window is switched on with a
 * probability and its edges are shifted by a per-appliance, per-day amount, so rooms
 * differ from each other and from one day to the next, deterministically.
 */
import type { ApplianceKind } from './appliance.ts';
import { noise01 } from './prng.ts';

/** Length of a load slot, ms. Loads change only at slot boundaries. */
export const SLOT_MS = 60_000;
const MINUTES_PER_DAY = 1440;
const DAY_MS = 86_400_000;

/** Compressor cycle length of an air conditioner, in slots (minutes). */
export const COMPRESSOR_CYCLE_SLOTS = 20;

export type Season = 'cooling' | 'heating' | 'shoulder' | 'mild';

export interface LocalSlot {
  /** floor(epoch ms / SLOT_MS): global slot number (jitter is keyed by it). */
  readonly slotIndex: number;
  /** Local calendar day number (days since 1970-01-01 in campus local time). */
  readonly dayNumber: number;
  /** Minute of the local day, 0..1439. */
  readonly minuteOfDay: number;
}

export function localSlot(timeMs: number, utcOffsetMinutes: number): LocalSlot {
  const slotIndex = Math.floor(timeMs / SLOT_MS);
  const localMs = slotIndex * SLOT_MS + utcOffsetMinutes * 60_000;
  const dayNumber = Math.floor(localMs / DAY_MS);
  const minuteOfDay = Math.floor((localMs - dayNumber * DAY_MS) / 60_000);
  return { slotIndex, dayNumber, minuteOfDay };
}

/** Season of a local day (northern hemisphere, e.g. a campus in China). */
export function seasonOfDay(dayNumber: number): Season {
  const month = monthOfDay(dayNumber);
  if (month >= 6 && month <= 9) return 'cooling';
  if (month === 12 || month <= 2) return 'heating';
  if (month === 5 || month === 10) return 'shoulder';
  return 'mild';
}

/**
 * Month (1..12) of a day number, by Howard Hinnant's civil-from-days arithmetic (cheaper
 * than building a Date for every appliance and day).
 */
export function monthOfDay(dayNumber: number): number {
  const z = dayNumber + 719_468;
  const era = Math.floor(z / 146_097);
  const dayOfEra = z - era * 146_097;
  const yearOfEra = Math.floor(
    (dayOfEra - Math.floor(dayOfEra / 1460) + Math.floor(dayOfEra / 36_524) - Math.floor(dayOfEra / 146_096)) / 365,
  );
  const dayOfYear = dayOfEra - (365 * yearOfEra + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100));
  const shiftedMonth = Math.floor((5 * dayOfYear + 2) / 153);
  return shiftedMonth < 10 ? shiftedMonth + 3 : shiftedMonth - 9;
}

export interface UsageWindow {
  /** Nominal start, minutes after local midnight. */
  readonly startMinute: number;
  /** Nominal end, minutes after local midnight; above 1440 runs into the next day. */
  readonly endMinute: number;
  /** Chance the window happens on a given day. */
  readonly probability: number;
  /** Each edge moves by up to +- this many minutes, per appliance and day. */
  readonly spreadMinutes: number;
  /** Fraction of the window spent running (AC compressor duty); 1 = runs throughout. */
  readonly duty: number;
}

function w(start: string, end: string, probability: number, spreadMinutes: number, duty = 1): UsageWindow {
  return { startMinute: minutes(start), endMinute: minutes(end), probability, spreadMinutes, duty };
}

/** "19:30" -> 1170; hours may exceed 24 for windows past midnight. */
function minutes(hhmm: string): number {
  const [h, m] = hhmm.split(':');
  return Number(h) * 60 + Number(m);
}

const NONE: readonly UsageWindow[] = [];
const LAMP = [w('18:30', '23:30', 0.95, 40), w('06:40', '07:40', 0.4, 20)];
const LAPTOP = [w('19:30', '24:30', 0.85, 45), w('14:00', '17:00', 0.3, 40)];
const CHARGER = [w('22:30', '25:00', 0.9, 60), w('12:00', '13:00', 0.4, 20)];
const AC: Readonly<Record<Season, readonly UsageWindow[]>> = {
  cooling: [w('19:00', '24:00', 0.9, 40, 0.6), w('24:00', '31:00', 0.7, 40, 0.35), w('13:00', '17:30', 0.5, 40, 0.75)],
  heating: [w('19:00', '23:30', 0.7, 40, 0.55), w('23:30', '31:00', 0.4, 40, 0.3)],
  shoulder: [w('20:00', '23:00', 0.25, 30, 0.4)],
  mild: NONE,
};

/** Usage windows of a kind on a day of the given season (empty: no rhythm, e.g. kettles). */
export function usageWindows(kind: ApplianceKind, season: Season): readonly UsageWindow[] {
  switch (kind) {
    case 'lamp':
      return LAMP;
    case 'laptop':
      return LAPTOP;
    case 'phone_charger':
      return CHARGER;
    case 'air_conditioner':
      return AC[season];
    case 'kettle':
    case 'hair_dryer':
    case 'heater':
      return NONE;
  }
}

/** Whether a kind follows a rhythm at all; the rest (kettles, heaters) run while plugged. */
export function hasRhythm(kind: ApplianceKind): boolean {
  return kind === 'lamp' || kind === 'laptop' || kind === 'phone_charger' || kind === 'air_conditioner';
}

/**
 * How one appliance is used on one local day: flattened [start, end, duty] triples, in
 * minutes after that day's midnight, for the windows that happen that day, including
 * windows opened the day before that run past midnight. Resolved once per appliance and
 * day (the room caches it); `dutyAt` then answers each slot with a few comparisons.
 */
export function usageOfDay(kind: ApplianceKind, noiseKey: number, dayNumber: number): number[] {
  const usage: number[] = [];
  for (let back = 0; back <= 1; back++) {
    const day = dayNumber - back;
    const shift = back * MINUTES_PER_DAY;
    const windows = usageWindows(kind, seasonOfDay(day));
    for (let i = 0; i < windows.length; i++) {
      const win = windows[i]!;
      if (back === 1 && win.endMinute + win.spreadMinutes <= MINUTES_PER_DAY) continue;
      if (noise01(noiseKey, day, i, 1) >= win.probability) continue;
      const start = win.startMinute + Math.round(win.spreadMinutes * (2 * noise01(noiseKey, day, i, 2) - 1)) - shift;
      const end = win.endMinute + Math.round(win.spreadMinutes * (2 * noise01(noiseKey, day, i, 3) - 1)) - shift;
      if (end > 0 && start < MINUTES_PER_DAY && end > start) usage.push(start, end, win.duty);
    }
  }
  return usage;
}

/** Duty at a minute of the day under `usageOfDay`: 0 idle, 1 running, between: cycling. */
export function dutyAt(usage: readonly number[], minuteOfDay: number): number {
  let duty = 0;
  for (let i = 0; i < usage.length; i += 3) {
    if (minuteOfDay >= usage[i]! && minuteOfDay < usage[i + 1]! && usage[i + 2]! > duty) duty = usage[i + 2]!;
  }
  return duty;
}

/**
 * Whether a cycling compressor runs in this slot at the given duty: on for the first
 * `duty` of each cycle, with a per-appliance phase so rooms do not cycle in step.
 */
export function compressorRunning(duty: number, noiseKey: number, slotIndex: number): boolean {
  if (duty <= 0) return false;
  if (duty >= 1) return true;
  const phase = (noiseKey % COMPRESSOR_CYCLE_SLOTS) + COMPRESSOR_CYCLE_SLOTS;
  const position = (((slotIndex + phase) % COMPRESSOR_CYCLE_SLOTS) + COMPRESSOR_CYCLE_SLOTS) % COMPRESSOR_CYCLE_SLOTS;
  return position < Math.round(duty * COMPRESSOR_CYCLE_SLOTS);
}

/** Duty of a continuously used air conditioner: a warm room, compressor cycling. */
export const CONTINUOUS_AC_DUTY = 0.6;
