/**
 * Checks an untrusted tariff (REST body, database row) and returns a fresh, well-typed copy,
 * or the path of the first offending field ('periods[2].from', 'tiers[1].upTo'; '' is the
 * tariff itself). Unknown fields are rejected rather than ignored: a typo such as `upto`
 * would otherwise silently change what students pay.
 */
import type { PeriodicRate, Tariff, Tier, TimeOfUsePeriod } from './tariff.ts';
import { formatClockMinutes, parseClockMinutes } from './local-time.ts';

/**
 * Upper bound on a rate: 1e9 milli-minor-units per 1000 base units (10,000 yuan per kWh or m3).
 * Far above any real price; it keeps usage x rate products well inside 2^53.
 */
export const MAX_RATE = 1_000_000_000;
const MAX_PERIODS = 96;
const MAX_TIERS = 32;
const MAX_PERIODIC_RATES = 64;
const MAX_NAME_LENGTH = 64;
const MINUTES_PER_DAY = 1440;

export type TariffValidation = { ok: true; tariff: Tariff } | { ok: false; field: string; message: string };

class Invalid extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
  }
}

export function validateTariff(tariff: unknown): TariffValidation {
  try {
    return { ok: true, tariff: readTariff(tariff) };
  } catch (error) {
    if (error instanceof Invalid) return { ok: false, field: error.field, message: error.message };
    throw error;
  }
}

function readTariff(value: unknown): Tariff {
  const obj = object(value, '');
  switch (obj['kind']) {
    case 'single':
      onlyKeys(obj, '', ['kind', 'rate']);
      return { kind: 'single', rate: rate(obj['rate'], 'rate') };
    case 'time_of_use': {
      onlyKeys(obj, '', ['kind', 'periods']);
      const periods = array(obj['periods'], 'periods', MAX_PERIODS).map((p, i) => readPeriod(p, `periods[${i}]`));
      checkCoverage(periods);
      return { kind: 'time_of_use', periods };
    }
    case 'tiered': {
      onlyKeys(obj, '', ['kind', 'tiers']);
      const tiers = array(obj['tiers'], 'tiers', MAX_TIERS).map((t, i) => readTier(t, `tiers[${i}]`));
      checkTiers(tiers);
      return { kind: 'tiered', tiers };
    }
    case 'periodic': {
      onlyKeys(obj, '', ['kind', 'rates', 'defaultRate']);
      const raw = obj['rates'];
      if (!Array.isArray(raw)) throw new Invalid('rates', 'must be an array');
      if (raw.length > MAX_PERIODIC_RATES) throw new Invalid('rates', `must have at most ${MAX_PERIODIC_RATES} entries`);
      const rates = raw.map((r, i) => readPeriodicRate(r, `rates[${i}]`));
      return { kind: 'periodic', rates, defaultRate: rate(obj['defaultRate'], 'defaultRate') };
    }
    default:
      throw new Invalid('kind', "must be one of 'single', 'time_of_use', 'tiered', 'periodic'");
  }
}

function readPeriod(value: unknown, path: string): TimeOfUsePeriod {
  const obj = object(value, path);
  onlyKeys(obj, path, ['name', 'from', 'to', 'rate']);
  return {
    name: name(obj['name'], `${path}.name`),
    from: clock(obj['from'], `${path}.from`),
    to: clock(obj['to'], `${path}.to`),
    rate: rate(obj['rate'], `${path}.rate`),
  };
}

/** Every minute of the day must belong to exactly one period. */
function checkCoverage(periods: TimeOfUsePeriod[]): void {
  const owner = new Array<number>(MINUTES_PER_DAY).fill(-1);
  periods.forEach((period, index) => {
    const from = parseClockMinutes(period.from)!;
    const to = parseClockMinutes(period.to)!;
    const length = from === to ? MINUTES_PER_DAY : (to - from + MINUTES_PER_DAY) % MINUTES_PER_DAY;
    for (let k = 0; k < length; k++) {
      const minute = (from + k) % MINUTES_PER_DAY;
      const other = owner[minute]!;
      if (other !== -1) {
        throw new Invalid(`periods[${index}]`, `overlaps periods[${other}] at ${formatClockMinutes(minute)}`);
      }
      owner[minute] = index;
    }
  });
  const firstGap = owner.indexOf(-1);
  if (firstGap === -1) return;
  // Report the whole gap, walking back over midnight to where it starts. Both walks end:
  // every period covers at least one minute.
  let start = firstGap;
  while (owner[(start - 1 + MINUTES_PER_DAY) % MINUTES_PER_DAY] === -1) {
    start = (start - 1 + MINUTES_PER_DAY) % MINUTES_PER_DAY;
  }
  let end = firstGap;
  while (owner[end % MINUTES_PER_DAY] === -1) end++;
  throw new Invalid(
    'periods',
    `${formatClockMinutes(start)}-${formatClockMinutes(end % MINUTES_PER_DAY)} is not covered by any period`,
  );
}

function readTier(value: unknown, path: string): Tier {
  const obj = object(value, path);
  onlyKeys(obj, path, ['upTo', 'rate', 'name']);
  const upTo = obj['upTo'];
  if (upTo !== null && !(Number.isSafeInteger(upTo) && (upTo as number) > 0)) {
    throw new Invalid(`${path}.upTo`, 'must be a positive integer (cumulative base units this month) or null');
  }
  const tier: Tier = { upTo: upTo as number | null, rate: rate(obj['rate'], `${path}.rate`) };
  if (obj['name'] !== undefined) tier.name = name(obj['name'], `${path}.name`);
  return tier;
}

function checkTiers(tiers: Tier[]): void {
  const last = tiers.length - 1;
  tiers.forEach((tier, i) => {
    if (i === last) {
      if (tier.upTo !== null) throw new Invalid(`tiers[${i}].upTo`, 'the last tier must be unbounded (upTo: null)');
      return;
    }
    if (tier.upTo === null) throw new Invalid(`tiers[${i}].upTo`, 'only the last tier may be unbounded (null)');
    const previous = i === 0 ? 0 : tiers[i - 1]!.upTo!;
    if (tier.upTo <= previous) {
      throw new Invalid(`tiers[${i}].upTo`, `must be greater than tiers[${i - 1}].upTo (${previous})`);
    }
  });
}

function readPeriodicRate(value: unknown, path: string): PeriodicRate {
  const obj = object(value, path);
  onlyKeys(obj, path, ['months', 'weekdays', 'rate', 'name']);
  const entry: PeriodicRate = { rate: rate(obj['rate'], `${path}.rate`) };
  if (obj['months'] !== undefined) entry.months = intSet(obj['months'], `${path}.months`, 1, 12);
  if (obj['weekdays'] !== undefined) entry.weekdays = intSet(obj['weekdays'], `${path}.weekdays`, 0, 6);
  if (entry.months === undefined && entry.weekdays === undefined) {
    throw new Invalid(path, 'must restrict months or weekdays (use defaultRate for all other times)');
  }
  if (obj['name'] !== undefined) entry.name = name(obj['name'], `${path}.name`);
  return entry;
}

function intSet(value: unknown, path: string, min: number, max: number): number[] {
  const items = array(value, path, max - min + 1);
  const seen = new Set<number>();
  items.forEach((item, i) => {
    if (!Number.isInteger(item) || (item as number) < min || (item as number) > max) {
      throw new Invalid(`${path}[${i}]`, `must be an integer ${min}..${max}`);
    }
    if (seen.has(item as number)) throw new Invalid(`${path}[${i}]`, `duplicate value ${item}`);
    seen.add(item as number);
  });
  return [...seen];
}

function object(value: unknown, path: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Invalid(path, 'must be an object');
  return value as Record<string, unknown>;
}

function onlyKeys(obj: Record<string, unknown>, path: string, allowed: readonly string[]): void {
  for (const key of Object.keys(obj)) {
    if (!allowed.includes(key)) throw new Invalid(path === '' ? key : `${path}.${key}`, 'unknown field');
  }
}

function array(value: unknown, path: string, maxLength: number): unknown[] {
  if (!Array.isArray(value) || value.length === 0) throw new Invalid(path, 'must be a non-empty array');
  if (value.length > maxLength) throw new Invalid(path, `must have at most ${maxLength} entries`);
  return value;
}

function rate(value: unknown, path: string): number {
  if (!Number.isSafeInteger(value) || (value as number) < 0 || (value as number) > MAX_RATE) {
    throw new Invalid(
      path,
      `must be an integer 0..${MAX_RATE} (milli-minor-units per 1000 base units, e.g. 0.568 yuan/kWh = 56800)`,
    );
  }
  return value as number;
}

function clock(value: unknown, path: string): string {
  if (parseClockMinutes(value) === null) throw new Invalid(path, "must be 'HH:MM' (00:00..23:59, local time)");
  return value as string;
}

function name(value: unknown, path: string): string {
  if (typeof value !== 'string' || value.trim() === '' || value.length > MAX_NAME_LENGTH) {
    throw new Invalid(path, `must be a non-empty string of at most ${MAX_NAME_LENGTH} characters`);
  }
  return value;
}
