import type { Purse } from '../db/database.ts';

/**
 * A committed ledger entry that the live dormitory actor must apply to its purse (a recharge, a
 * refund or adjustment, a settlement). It names its entry: a dormitory whose balance was loaded
 * after the entry committed already holds it, and skips it (src/actors/campus-runtime.ts).
 */
export interface BalanceChange {
  readonly dormitoryId: string;
  readonly purse: Purse;
  /** Signed: a credit is positive, a refund negative. */
  readonly amountFen: number;
  readonly ledgerEntryId: number;
}
