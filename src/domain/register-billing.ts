import { chargeAcrossSpan } from './gap-pricing.ts';
import { initialBillingState, type BillingState, type ChargeResult, type FreeQuotaPolicy, type Tariff } from './tariff.ts';

/**
 * Billing from a cumulative register, pure. The cursor is the last billed register value and
 * the billing state after it; it is persisted in the same transaction as the charges it
 * produced, so after a crash the next reading's delta covers the gap exactly once.
 */
export interface BillingCursor {
  readonly register: number;
  readonly readAt: number;
  readonly billing: BillingState;
}

export interface MeterTariff {
  readonly tariff: Tariff;
  readonly quota: FreeQuotaPolicy | null;
  readonly utcOffsetMinutes: number;
}

/** How much a register may plausibly advance: `maxRatePerHour` units an hour plus `slack`. */
export interface PlausibilityLimits {
  readonly maxRatePerHour: number;
  readonly slack: number;
}

export const ELECTRIC_LIMITS: PlausibilityLimits = Object.freeze({ maxRatePerHour: 30_000, slack: 1_000 }); // 30 kW
export const WATER_LIMITS: PlausibilityLimits = Object.freeze({ maxRatePerHour: 3_000, slack: 500 }); // 3 m3/h

export type RegisterOutcome =
  | { readonly kind: 'opened'; readonly cursor: BillingCursor; readonly quotaGranted: number }
  | { readonly kind: 'idle'; readonly cursor: BillingCursor }
  | { readonly kind: 'charged'; readonly usage: number; readonly wrapped: boolean; readonly charge: ChargeResult; readonly cursor: BillingCursor }
  | { readonly kind: 'backwards'; readonly register: number; readonly cursorRegister: number }
  | { readonly kind: 'implausible'; readonly usage: number; readonly maxPlausible: number };

/** The most a register may advance between two billing times (both server-bounded, see sample-time.ts). */
export function maxPlausibleUsage(limits: PlausibilityLimits, fromMs: number, toMs: number): number {
  const elapsedMs = Math.max(0, toMs - fromMs);
  return Math.floor((limits.maxRatePerHour * Math.max(elapsedMs, 1000)) / 3_600_000) + limits.slack;
}

/**
 * Bills a reading of a cumulative register. `at` must already be bounded by the server's
 * receive time. `registerWrap` is the counter's modulus (null: it never wraps): a register
 * below the cursor is a rollover when the wrapped delta is plausible, else it went backwards.
 * The delta is priced across the periods and months between the cursor and `at`
 * (gap-pricing.ts).
 */
export function billRegister(
  cursor: BillingCursor | null,
  register: number,
  at: number,
  pricing: MeterTariff,
  limits: PlausibilityLimits,
  registerWrap: number | null = null,
): RegisterOutcome {
  if (!Number.isSafeInteger(register) || register < 0) return { kind: 'backwards', register, cursorRegister: cursor?.register ?? 0 };
  if (!cursor) {
    // A meter seen for the first time: its opening register is not consumption.
    const billing = initialBillingState(at, pricing.quota, pricing.utcOffsetMinutes);
    return { kind: 'opened', cursor: { register, readAt: at, billing }, quotaGranted: billing.freeRemaining };
  }
  const maxPlausible = maxPlausibleUsage(limits, cursor.readAt, at);
  let usage = register - cursor.register;
  let wrapped = false;
  if (usage < 0) {
    const wrappedUsage = registerWrap === null || cursor.register >= registerWrap || register >= registerWrap ? -1 : registerWrap - cursor.register + register;
    if (wrappedUsage < 0 || wrappedUsage > maxPlausible) return { kind: 'backwards', register, cursorRegister: cursor.register };
    usage = wrappedUsage;
    wrapped = true;
  }
  // An unchanged register keeps the cursor, time included: the next delta is spread (and its
  // plausibility judged) from the last reading that moved the register (docs/billing.md).
  if (usage === 0) return { kind: 'idle', cursor };
  if (usage > maxPlausible) return { kind: 'implausible', usage, maxPlausible };
  const { charge, cursor: next } = chargeDelta(cursor, usage, register, at, pricing);
  return { kind: 'charged', usage, wrapped, charge, cursor: next };
}

/**
 * Charges `usage` units from `cursor` up to `at` and moves the cursor to `register` (which
 * need not be cursor + usage: a rollover, or an operator's meter replacement). No
 * plausibility check: callers decide (billRegister, or an operator accepting a jump).
 */
export function chargeDelta(cursor: BillingCursor, usage: number, register: number, at: number, pricing: MeterTariff): { charge: ChargeResult; cursor: BillingCursor } {
  const readAt = Math.max(at, cursor.readAt);
  const charge = chargeAcrossSpan(pricing.tariff, pricing.quota, cursor.billing, usage, cursor.readAt, readAt, pricing.utcOffsetMinutes);
  return { charge, cursor: { register, readAt, billing: charge.state } };
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
  readonly parts: Readonly<Record<string, { rate: number; usage: number }>>;
}

/** Adds one charge (`usage` units from `fromRegister` to `toRegister`, which differ by usage unless the register wrapped or was replaced). */
export function accumulateCharge(pending: PendingCharge | null, fromRegister: number, toRegister: number, usage: number, charge: ChargeResult, at: number): PendingCharge {
  const parts: Record<string, { rate: number; usage: number }> = { ...(pending?.parts ?? {}) };
  for (const part of charge.parts) {
    const key = `${part.label}@${part.rate}`;
    const existing = parts[key];
    parts[key] = { rate: part.rate, usage: (existing?.usage ?? 0) + part.usage };
  }
  return {
    amount: (pending?.amount ?? 0) + charge.amount,
    usage: (pending?.usage ?? 0) + usage,
    freeUsed: (pending?.freeUsed ?? 0) + charge.freeUsed,
    fromRegister: pending?.fromRegister ?? fromRegister,
    toRegister,
    firstAt: pending?.firstAt ?? at,
    lastAt: at,
    quotaGranted: (pending?.quotaGranted ?? 0) + charge.quotaGranted,
    parts,
  };
}
