import { chargeAcrossSchedule, type TariffSchedule } from './gap-pricing.ts';
import type { TimeZone } from './local-time.ts';
import { initialBillingState, type BillingState, type ChargeResult, type FreeQuotaPolicy, type QuotaLapse } from './tariff.ts';

/**
 * Billing from a cumulative register, pure. A meter measures (`measureRegister`): its position
 * is the last billed register value and its time. Its dormitory prices what it measured
 * (`chargeMeasured`) with the purse's billing state (month, tier position, free quota left,
 * sub-fen carry), which belongs to the dormitory, not to each meter: two meters of one purse
 * share one quota grant and one tier position. Position and state are persisted in the same
 * transaction as the charges they produced, so after a crash the next reading's delta covers
 * the gap exactly once.
 */
export interface RegisterPosition {
  readonly register: number;
  readonly readAt: number;
}

/** A meter's cursor as persisted: its position and the purse's billing state at that posting. */
export interface BillingCursor extends RegisterPosition {
  readonly billing: BillingState;
}

export interface MeterTariff {
  /** The dormitory's tariff for this purse with every version (a new version applies from its date). */
  readonly schedule: TariffSchedule;
  readonly quota: FreeQuotaPolicy | null;
  readonly zone: TimeZone;
}

/** How much a register may plausibly advance: `maxRatePerHour` units an hour plus `slack`. */
export interface PlausibilityLimits {
  readonly maxRatePerHour: number;
  readonly slack: number;
}

export const ELECTRIC_LIMITS: PlausibilityLimits = Object.freeze({ maxRatePerHour: 30_000, slack: 1_000 }); // 30 kW
export const WATER_LIMITS: PlausibilityLimits = Object.freeze({ maxRatePerHour: 3_000, slack: 500 }); // 3 m3/h

/**
 * What a meter measured and its dormitory prices: `usage` units between `fromMs` and `toMs`
 * (from `fromRegister` to `toRegister`), after which the meter stands at `position` (which
 * differs from toRegister after a replacement). An opening (usage 0) only places the meter.
 */
export interface Measured {
  readonly usage: number;
  readonly fromRegister: number;
  readonly toRegister: number;
  readonly fromMs: number;
  readonly toMs: number;
  readonly position: RegisterPosition;
}

export type RegisterOutcome =
  | { readonly kind: 'opened'; readonly measured: Measured }
  | { readonly kind: 'idle' }
  | { readonly kind: 'measured'; readonly wrapped: boolean; readonly measured: Measured }
  | { readonly kind: 'backwards'; readonly register: number; readonly cursorRegister: number }
  | { readonly kind: 'implausible'; readonly usage: number; readonly maxPlausible: number };

/** The most a register may advance between two billing times (both server-bounded, see sample-time.ts). */
export function maxPlausibleUsage(limits: PlausibilityLimits, fromMs: number, toMs: number): number {
  const elapsedMs = Math.max(0, toMs - fromMs);
  return Math.floor((limits.maxRatePerHour * Math.max(elapsedMs, 1000)) / 3_600_000) + limits.slack;
}

/**
 * Measures a reading of a cumulative register against the meter's position. `at` must already
 * be bounded by the server's receive time. `registerWrap` is the counter's modulus (null: it
 * never wraps): a register below the position is a rollover when the wrapped delta is
 * plausible, else it went backwards.
 */
export function measureRegister(
  position: RegisterPosition | null,
  register: number,
  at: number,
  limits: PlausibilityLimits,
  registerWrap: number | null = null,
): RegisterOutcome {
  if (!Number.isSafeInteger(register) || register < 0) return { kind: 'backwards', register, cursorRegister: position?.register ?? 0 };
  if (!position) {
    // A meter seen for the first time: its opening register is not consumption.
    return { kind: 'opened', measured: { usage: 0, fromRegister: register, toRegister: register, fromMs: at, toMs: at, position: { register, readAt: at } } };
  }
  const maxPlausible = maxPlausibleUsage(limits, position.readAt, at);
  let usage = register - position.register;
  let wrapped = false;
  if (usage < 0) {
    const wrappedUsage = registerWrap === null || position.register >= registerWrap || register >= registerWrap ? -1 : registerWrap - position.register + register;
    if (wrappedUsage < 0 || wrappedUsage > maxPlausible) return { kind: 'backwards', register, cursorRegister: position.register };
    usage = wrappedUsage;
    wrapped = true;
  }
  if (usage === 0) return { kind: 'idle' };
  if (usage > maxPlausible) return { kind: 'implausible', usage, maxPlausible };
  return { kind: 'measured', wrapped, measured: measuredRange(position, usage, register, at) };
}

/**
 * `usage` units from `position` up to `at`, leaving the meter at `register` (which need not be
 * position + usage: a rollover, or an operator's meter replacement). No plausibility check:
 * callers decide (measureRegister, or an operator accepting a jump).
 */
export function measuredRange(position: RegisterPosition, usage: number, register: number, at: number): Measured {
  const readAt = Math.max(at, position.readAt);
  return { usage, fromRegister: position.register, toRegister: register, fromMs: position.readAt, toMs: readAt, position: { register, readAt } };
}

/**
 * Prices what a meter measured with its purse's billing state (null: the purse was never billed,
 * so its state opens at the measurement's start with the month's quota). Quota and tier position
 * move with every meter of the purse, in the order their measurements arrive.
 */
export function chargeMeasured(state: BillingState | null, measured: Measured, pricing: MeterTariff): ChargeResult {
  let opened = state;
  let granted = 0;
  if (opened === null) {
    opened = initialBillingState(measured.fromMs, pricing.quota, pricing.zone);
    granted = opened.freeRemaining;
  }
  const charge = chargeAcrossSchedule(pricing.schedule, pricing.quota, opened, measured.usage, measured.fromMs, measured.toMs, pricing.zone);
  return { ...charge, quotaGranted: charge.quotaGranted + granted };
}

/** Consumption accumulated between two ledger postings of one meter. */
export interface PendingCharge {
  readonly amount: number;
  readonly usage: number;
  readonly freeUsed: number;
  readonly fromRegister: number;
  readonly toRegister: number;
  readonly firstAt: number;
  readonly lastAt: number;
  readonly quotaGranted: number;
  /** Unused quota that lapsed at its period's end meanwhile (absent: none). */
  readonly quotaLapsed?: readonly QuotaLapse[];
  /** Billed usage by tariff version, label and rate. */
  readonly parts: Readonly<Record<string, PendingPart>>;
}

export interface PendingPart {
  readonly rate: number;
  readonly usage: number;
  readonly label: string;
  /** The tariff version that priced it. */
  readonly version: number | null;
}

/** A pending charge as its dormitory builds it: added to in place until it is posted. */
type Mutable<T> = { -readonly [K in keyof T]: T[K] };
type PendingChargeInProgress = Omit<Mutable<PendingCharge>, 'parts' | 'quotaLapsed'> & { parts: Record<string, Mutable<PendingPart>>; quotaLapsed: QuotaLapse[] };

/**
 * Adds one charge (`usage` units from `fromRegister` to `toRegister`, which differ by usage unless
 * the register wrapped or was replaced) to `pending`, **in place**, and returns it (a new one
 * when `pending` is null). The caller owns a pending charge until it posts it and must not add to
 * it after: a dormitory adds every reading's charge to its meter's, and posts it once a posting
 * interval. A new object per reading lived until the next reading, long enough to be promoted
 * out of the young generation: at 20,000 rooms, tens of megabytes a minute of old garbage.
 */
export function accumulateCharge(pending: PendingCharge | null, fromRegister: number, toRegister: number, usage: number, charge: ChargeResult, at: number): PendingCharge {
  const into: PendingChargeInProgress =
    (pending as PendingChargeInProgress | null) ??
    { amount: 0, usage: 0, freeUsed: 0, fromRegister, toRegister, firstAt: at, lastAt: at, quotaGranted: 0, quotaLapsed: [], parts: {} };
  for (const part of charge.parts) {
    const key = `${part.version ?? ''}|${part.label}@${part.rate}`;
    const existing = into.parts[key];
    if (existing) existing.usage += part.usage;
    else into.parts[key] = { rate: part.rate, usage: part.usage, label: part.label, version: part.version ?? null };
  }
  into.amount += charge.amount;
  into.usage += usage;
  into.freeUsed += charge.freeUsed;
  into.toRegister = toRegister;
  into.lastAt = at;
  into.quotaGranted += charge.quotaGranted;
  for (const lapse of charge.quotaLapsed) into.quotaLapsed.push(lapse);
  return into;
}
