/**
 * The pure tariff engine: what a metered delta costs.
 *
 * Units (other modules depend on them):
 * - usage: integer base units, Wh for electricity, litres for water;
 * - rate: integer milli-minor-units per 1000 base units (milli-fen per kWh or per m3),
 *   e.g. 0.568 yuan/kWh = 56.8 fen/kWh = 56800;
 * - so usage x rate is in micro-minor-units (1e-6 fen), and a charge is usage x rate / 1e6 fen.
 *
 * Rounding invariant: the remainder below one minor unit is carried in `BillingState.carryMicro`
 * (0..999_999) across parts, deltas and months, so for any sequence of deltas
 *   sum(amount_i) === floor((carry_0 + sum(usage_j x rate_j)) / 1e6)
 * exactly; nothing is rounded away and no float is ever involved.
 *
 * Pure: no clock, no I/O, inputs are never mutated. Tariffs are expected to have passed
 * `validateTariff` (at the REST edge and when loaded); the engine still throws a RangeError,
 * rather than guessing, if it meets an inconsistency on its path.
 */
import {
  isMonthKey,
  monthKeyOf,
  parseClockMinutes,
  toLocalTime,
  MS_PER_MINUTE,
  type TimeZone,
} from './local-time.ts';
import type { LocalTime } from './local-time.ts';
import { monthPeriodOf, NO_QUOTA_PERIOD, rollQuota, type FreeQuotaPolicy, type QuotaHolding, type QuotaRoll } from './quota.ts';

export type { FreeQuotaPolicy } from './quota.ts';

export { validateTariff, MAX_RATE } from './tariff-validation.ts';
export type { TariffValidation } from './tariff-validation.ts';

export type Tariff = SingleRateTariff | TimeOfUseTariff | TieredTariff | PeriodicTariff;

export interface SingleRateTariff {
  kind: 'single';
  rate: number;
}

export interface TimeOfUsePeriod {
  name: string;
  /** 'HH:MM' local, inclusive. */
  from: string;
  /** 'HH:MM' local, exclusive; from > to spans midnight; from === to covers 24 h. */
  to: string;
  rate: number;
}

/** Periods cover the day exactly once (no gap, no overlap); see validateTariff. */
export interface TimeOfUseTariff {
  kind: 'time_of_use';
  periods: TimeOfUsePeriod[];
}

export interface Tier {
  /** Cumulative base units in the billing month at which this tier ends; null = unbounded (last). */
  upTo: number | null;
  rate: number;
  /** Display label; defaults to 'tier N' (1-based). */
  name?: string;
}

/** Tier position resets at the start of each local calendar month. */
export interface TieredTariff {
  kind: 'tiered';
  tiers: Tier[];
}

/** Matches when every given filter matches (months AND weekdays); an absent filter matches all. */
export interface PeriodicRate {
  /** 1..12 */
  months?: number[];
  /** 0 = Sunday .. 6 = Saturday */
  weekdays?: number[];
  rate: number;
  /** Display label; defaults to 'rates[i]'. */
  name?: string;
}

/** First matching entry wins (e.g. summer months, weekends); otherwise defaultRate. */
export interface PeriodicTariff {
  kind: 'periodic';
  rates: PeriodicRate[];
  defaultRate: number;
}

export interface BillingState {
  /** 'YYYY-MM' local: the month monthUsage and freeRemaining belong to. */
  monthKey: string;
  /** Base units used this month, free usage included (the tier position). */
  monthUsage: number;
  /** Free base units left in the quota period [quotaFrom, quotaUntil). */
  freeRemaining: number;
  /** Sub-minor-unit remainder, micro-minor-units, 0..999_999. Carries across months. */
  carryMicro: number;
  /**
   * The quota period the free units belong to: local days [quotaFrom, quotaUntil) ('' when
   * none was granted), and what was granted for it (src/domain/quota.ts). Absent in states
   * written before quota periods: the free units then belong to the month `monthKey`.
   */
  quotaFrom?: string;
  quotaUntil?: string;
  freeGranted?: number;
  freeLapsed?: number;
  /**
   * Students whose late-check-in allowance (`applyQuotaTopUp`) is included in `freeGranted` of the
   * period [quotaFrom, quotaUntil): each is added once; a new period starts with none.
   */
  quotaTopUps?: string[];
  /**
   * The open stays (occupancy ids) a per-occupant grant of the period starting `from` counted
   * (set by the dormitory actor that granted it): a stay of that period not listed was not counted
   * and gets its late share (late-quota.service.ts, grantOccupantsMissedByGrant).
   */
  quotaCounted?: { from: string; occupancies: number[] };
}

/** A late occupant's pro rata allowance for the purse's period starting `periodFrom` (src/services/late-quota.service.ts). */
export interface QuotaTopUp {
  readonly studentId: string;
  readonly periodFrom: string;
  readonly units: number;
}

/**
 * Adds a late occupant's allowance to the quota the purse holds: only to the period it was
 * granted for, and once per student (the state lists the students added), so applying it again
 * (live, then at a reload that reads the ledger) changes nothing. null: nothing to add.
 */
export function applyQuotaTopUp(state: BillingState, topUp: QuotaTopUp): BillingState | null {
  const holding = quotaHoldingOf(state);
  if (holding.quotaFrom !== topUp.periodFrom || topUp.units <= 0 || (state.quotaTopUps ?? []).includes(topUp.studentId)) return null;
  return { ...withHolding(state, { ...holding, freeGranted: holding.freeGranted + topUp.units, freeRemaining: holding.freeRemaining + topUp.units }), quotaTopUps: [...(state.quotaTopUps ?? []), topUp.studentId] };
}

export interface ChargePart {
  rate: number;
  usage: number;
  label: string;
  /** The tariff version that priced this part (set when priced through a schedule). */
  version?: number;
}

export interface ChargeResult {
  /** Minor units, integer >= 0. */
  amount: number;
  freeUsed: number;
  /** usage - freeUsed; equals the sum of parts[].usage. */
  billedUsage: number;
  /** Billed usage by rate, in billing order; zero-usage parts are omitted, free usage is not a part. */
  parts: ChargePart[];
  state: BillingState;
  /** Quota granted by a new period during this call, 0 if none. */
  quotaGranted: number;
  /** Unused quota of periods that ended during this call (each period once), in order. */
  quotaLapsed: readonly QuotaLapse[];
}

/** Unused free units that lapsed at the end of their period [from, until). */
export interface QuotaLapse {
  readonly from: string;
  readonly until: string;
  readonly units: number;
}

/** The quota a state holds (a state written before quota periods holds its month's). */
export function quotaHoldingOf(state: BillingState): QuotaHolding {
  if (state.quotaFrom !== undefined && state.quotaUntil !== undefined) {
    return { quotaFrom: state.quotaFrom, quotaUntil: state.quotaUntil, freeGranted: state.freeGranted ?? state.freeRemaining, freeRemaining: state.freeRemaining, freeLapsed: state.freeLapsed ?? 0 };
  }
  const [year, month] = state.monthKey.split('-').map(Number) as [number, number];
  const period = monthPeriodOf(year, month);
  return { quotaFrom: period.from, quotaUntil: period.until, freeGranted: state.freeGranted ?? state.freeRemaining, freeRemaining: state.freeRemaining, freeLapsed: state.freeLapsed ?? 0 };
}

/** `state` holding `holding`; the late occupants `previous` listed stay listed while its period is held. */
function withHolding(state: BillingState, holding: QuotaHolding, previous: BillingState = state): BillingState {
  const { quotaTopUps: _listed, ...rest } = state;
  const next: BillingState = { ...rest, quotaFrom: holding.quotaFrom, quotaUntil: holding.quotaUntil, freeGranted: holding.freeGranted, freeRemaining: holding.freeRemaining, freeLapsed: holding.freeLapsed };
  if (previous.quotaTopUps !== undefined && quotaHoldingOf(previous).quotaFrom === holding.quotaFrom) next.quotaTopUps = previous.quotaTopUps;
  return next;
}

const lapsesOf = (roll: QuotaRoll): QuotaLapse[] => (roll.lapsedPeriod && roll.lapsed > 0 ? [{ ...roll.lapsedPeriod, units: roll.lapsed }] : []);

/** What moving a purse's quota to an instant did: its new state, the grant and the lapses. */
export interface QuotaMove {
  readonly state: BillingState;
  readonly granted: number;
  readonly lapsed: readonly QuotaLapse[];
}

/**
 * Moves a purse's quota to `at` without pricing anything: unused quota of a period that is over
 * lapses, and (with `grant`) the policy's period at `at` is granted if it was not yet: the
 * office's batch issuance and the expiry at a period's end. Idempotent per period.
 */
export function moveQuota(state: BillingState, quota: FreeQuotaPolicy | null, at: number, zone: TimeZone, grant: boolean): QuotaMove {
  assertQuota(quota);
  assertState(state);
  const roll = rollQuota(quota, quotaHoldingOf(state), toLocalTime(at, zone), grant);
  return { state: withHolding(state, roll.holding), granted: roll.granted, lapsed: lapsesOf(roll) };
}

export const MICRO_PER_MINOR = 1_000_000;

export function initialBillingState(
  at: number,
  quota: FreeQuotaPolicy | null,
  zone: TimeZone,
): BillingState {
  assertQuota(quota);
  const local = toLocalTime(at, zone);
  const empty = { quotaFrom: NO_QUOTA_PERIOD, quotaUntil: NO_QUOTA_PERIOD, freeGranted: 0, freeRemaining: 0, freeLapsed: 0 };
  return withHolding({ monthKey: monthKeyOf(local), monthUsage: 0, freeRemaining: 0, carryMicro: 0 }, rollQuota(quota, empty, local).holding);
}

/**
 * Bills `usage` base units that arrived at `at`. The whole delta is priced at `at` (TOU
 * period / periodic entry of that instant); a tiered delta is split where it crosses tiers.
 *
 * Month rollover: when the local month of `at` is later than `state.monthKey`, monthUsage
 * restarts at 0. Quota (src/domain/quota.ts): unused free units of a period that is over lapse
 * (reported in quotaLapsed), and a period of the policy not yet granted is granted (set, not
 * added; reported in quotaGranted); skipped periods grant nothing extra. A reading from an
 * earlier month or period than the state (clock stepped back, late delivery) is billed in the
 * state's month without a rollover, so a clock glitch can never grant the allowance twice.
 *
 * Free quota is consumed first, before anything is charged. Free units still advance
 * monthUsage, i.e. they occupy the cheapest (lowest) tier positions: with a 10 kWh
 * allowance and a first tier ending at 50 kWh, 40 kWh are billed at tier 1, not 50. This
 * keeps the tier position equal to what the meter measured this month, whatever the quota
 * policy, and makes the allowance worth exactly its units at the lowest rates.
 *
 * freeRemaining in the state is spent even if `quota` is null now: it was granted when the
 * month began; the policy only decides what the next rollover grants.
 */
export function chargeUsage(
  tariff: Tariff,
  quota: FreeQuotaPolicy | null,
  state: BillingState,
  usage: number,
  at: number,
  zone: TimeZone,
): ChargeResult {
  assertBaseUnits('usage', usage);
  assertQuota(quota);
  assertState(state);
  const local = toLocalTime(at, zone);
  const monthKey = monthKeyOf(local);

  let month = state.monthKey;
  let monthUsage = state.monthUsage;
  if (monthKey > state.monthKey) {
    month = monthKey;
    monthUsage = 0;
  }
  const roll = rollQuota(quota, quotaHoldingOf(state), local);
  const freeRemaining = roll.holding.freeRemaining;

  const freeUsed = Math.min(usage, freeRemaining);
  const billedUsage = usage - freeUsed;
  const parts = priceParts(tariff, local, monthUsage + freeUsed, billedUsage);

  let amount = 0;
  let carryMicro = state.carryMicro;
  for (const part of parts) {
    const charged = chargeMicro(part.usage, part.rate, carryMicro);
    amount += charged.amount;
    carryMicro = charged.carryMicro;
  }
  const newMonthUsage = monthUsage + usage;
  if (!Number.isSafeInteger(amount) || !Number.isSafeInteger(newMonthUsage)) {
    throw new RangeError('charge exceeds the safe integer range');
  }

  return {
    amount,
    freeUsed,
    billedUsage,
    parts,
    state: withHolding({ monthKey: month, monthUsage: newMonthUsage, freeRemaining: 0, carryMicro }, { ...roll.holding, freeRemaining: freeRemaining - freeUsed }, state),
    quotaGranted: roll.granted,
    quotaLapsed: lapsesOf(roll),
  };
}

/**
 * The marginal rate of the next base unit at `at`, for display. `monthUsage` is the tier
 * position; the caller passes 0 when its state belongs to an earlier month (see
 * `monthUsageAt`). Free quota is not considered: this is the tariff's price, not the bill.
 */
export function rateAt(tariff: Tariff, at: number, monthUsage: number, zone: TimeZone): number {
  assertBaseUnits('monthUsage', monthUsage);
  return priceParts(tariff, toLocalTime(at, zone), monthUsage, 1)[0]!.rate;
}

/** The tier position to show at `at`: the state's monthUsage, or 0 once its month is over. */
export function monthUsageAt(state: BillingState, at: number, zone: TimeZone): number {
  return monthKeyOf(toLocalTime(at, zone)) > state.monthKey ? 0 : state.monthUsage;
}

/** floor((usage x rate + carry) / 1e6) without leaving the safe integer range for usage >= 1e6. */
export function chargeMicro(
  usage: number,
  rate: number,
  carryMicro: number,
): { amount: number; carryMicro: number } {
  assertBaseUnits('usage', usage);
  if (!Number.isSafeInteger(rate) || rate < 0) {
    throw new RangeError(`rate must be a non-negative safe integer, got ${rate}`);
  }
  // usage x rate = high x rate x 1e6 + low x rate, with low < 1e6.
  const high = Math.floor(usage / MICRO_PER_MINOR);
  const low = usage - high * MICRO_PER_MINOR;
  const lowMicro = low * rate + carryMicro;
  const amount = high * rate + Math.floor(lowMicro / MICRO_PER_MINOR);
  if (!Number.isSafeInteger(lowMicro) || !Number.isSafeInteger(amount)) {
    throw new RangeError(`charge of ${usage} units at rate ${rate} exceeds the safe integer range`);
  }
  return { amount, carryMicro: lowMicro % MICRO_PER_MINOR };
}

/** Splits `billed` units starting at tier position `position` into priced parts. */
function priceParts(tariff: Tariff, local: LocalTime, position: number, billed: number): ChargePart[] {
  if (billed === 0) return [];
  switch (tariff.kind) {
    case 'single':
      return [{ rate: tariff.rate, usage: billed, label: 'single' }];
    case 'time_of_use': {
      const period = periodAt(tariff, local.msOfDay);
      return [{ rate: period.rate, usage: billed, label: period.name }];
    }
    case 'periodic': {
      const index = tariff.rates.findIndex(
        (entry) =>
          (entry.months === undefined || entry.months.includes(local.month)) &&
          (entry.weekdays === undefined || entry.weekdays.includes(local.weekday)),
      );
      if (index < 0) return [{ rate: tariff.defaultRate, usage: billed, label: 'default' }];
      const entry = tariff.rates[index]!;
      return [{ rate: entry.rate, usage: billed, label: entry.name ?? `rates[${index}]` }];
    }
    case 'tiered':
      return tierParts(tariff, position, billed);
    default:
      return assertNever(tariff);
  }
}

function tierParts(tariff: TieredTariff, position: number, billed: number): ChargePart[] {
  const parts: ChargePart[] = [];
  const end = position + billed;
  let lower = 0;
  let cursor = position;
  const tiers = tariff.tiers;
  for (let i = 0; i < tiers.length && cursor < end; i++) {
    const tier = tiers[i]!;
    const upper = tier.upTo === null ? Infinity : tier.upTo;
    if (upper <= lower) throw new RangeError(`tiers[${i}].upTo is not increasing`);
    if (cursor < upper) {
      const usage = Math.min(end, upper) - cursor;
      parts.push({ rate: tier.rate, usage, label: tier.name ?? `tier ${i + 1}` });
      cursor += usage;
    }
    lower = upper;
  }
  if (cursor < end) throw new RangeError('tiered tariff has no unbounded last tier');
  return parts;
}

function periodAt(tariff: TimeOfUseTariff, msOfDay: number): TimeOfUsePeriod {
  for (const period of tariff.periods) {
    const from = parseClockMinutes(period.from);
    const to = parseClockMinutes(period.to);
    if (from === null || to === null) throw new RangeError(`bad period time in '${period.name}'`);
    const start = from * MS_PER_MINUTE;
    const stop = to * MS_PER_MINUTE;
    const inside =
      from === to || (from < to ? msOfDay >= start && msOfDay < stop : msOfDay >= start || msOfDay < stop);
    if (inside) return period;
  }
  throw new RangeError('time-of-use periods do not cover the time of the reading');
}

function assertBaseUnits(name: string, value: number): void {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new RangeError(`${name} must be a non-negative safe integer, got ${value}`);
  }
}

function assertQuota(quota: FreeQuotaPolicy | null): void {
  if (quota === null) return;
  assertBaseUnits('quota.allowance', quota.allowance);
  if (quota.occupants !== undefined) assertBaseUnits('quota.occupants', quota.occupants);
}

function assertState(state: BillingState): void {
  if (!isMonthKey(state.monthKey)) throw new RangeError(`state.monthKey must be 'YYYY-MM', got ${state.monthKey}`);
  assertBaseUnits('state.monthUsage', state.monthUsage);
  assertBaseUnits('state.freeRemaining', state.freeRemaining);
  if (state.freeGranted !== undefined) assertBaseUnits('state.freeGranted', state.freeGranted);
  if (!Number.isInteger(state.carryMicro) || state.carryMicro < 0 || state.carryMicro >= MICRO_PER_MINOR) {
    throw new RangeError(`state.carryMicro must be an integer in 0..999999, got ${state.carryMicro}`);
  }
}

function assertNever(value: never): never {
  throw new RangeError(`unknown tariff kind: ${(value as { kind?: unknown }).kind}`);
}
