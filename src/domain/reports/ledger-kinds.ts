/**
 * The ledger's vocabulary as the reports see it (src/domain imports nothing from src/db; the
 * database types are checked against these where rows are read).
 */
export type PurseName = 'electricity' | 'water';
export type LedgerEntryKindName = 'recharge' | 'refund' | 'consumption_charge' | 'quota_grant' | 'quota_expiry' | 'adjustment' | 'settlement';

/**
 * The payment channel of a recharge, as finance compares it with the bank statement: the cash
 * desk and other office methods by name (`cash`, `card`, `campus_card`, `online` when entered by
 * the office), each online provider as `online:<provider>`.
 */
export function channelOf(method: string | null, provider: string | null): string {
  if (provider) return `online:${provider}`;
  return method ?? 'unknown';
}
