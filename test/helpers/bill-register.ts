import {
  chargeMeasured,
  measureRegister,
  type BillingCursor,
  type MeterTariff,
  type PlausibilityLimits,
} from '../../src/domain/register-billing.ts';

/**
 * A meter and its dormitory's purse composed as the actors compose them: the meter measures
 * (measureRegister), the dormitory prices with the purse's billing state (chargeMeasured).
 */
export function billRegister(cursor: BillingCursor | null, register: number, at: number, pricing: MeterTariff, limits: PlausibilityLimits, registerWrap: number | null = null) {
  const outcome = measureRegister(cursor, register, at, limits, registerWrap);
  switch (outcome.kind) {
    case 'opened': {
      const charge = chargeMeasured(null, outcome.measured, pricing);
      return { kind: 'opened' as const, cursor: { ...outcome.measured.position, billing: charge.state }, quotaGranted: charge.quotaGranted };
    }
    case 'idle':
      return { kind: 'idle' as const, cursor: cursor! };
    case 'measured': {
      const charge = chargeMeasured(cursor!.billing, outcome.measured, pricing);
      return { kind: 'charged' as const, usage: outcome.measured.usage, wrapped: outcome.wrapped, charge, cursor: { ...outcome.measured.position, billing: charge.state } };
    }
    default:
      return outcome;
  }
}
