import type { BillingState } from './tariff.ts';

/**
 * Free quota left in the current local month, pure: the purse's stored state when it belongs to
 * this month, else the whole allowance (the next billing of a new month grants it anew). A state
 * from a later month than `monthKey` (a clock set back) counts as stored.
 */
export function quotaRemaining(state: BillingState | null, monthlyAllowance: number, monthKey: string): number {
  if (!state || typeof state.freeRemaining !== 'number' || typeof state.monthKey !== 'string') return monthlyAllowance;
  if (state.monthKey < monthKey) return monthlyAllowance;
  return Math.max(0, Math.min(state.freeRemaining, monthlyAllowance));
}
