import type { Kysely } from 'kysely';
import type { Database } from '../db/database.ts';
import { findBalanceMismatches, type BalanceMismatch } from '../db/ledger.repository.ts';

export interface ReconcileReport {
  readonly accounts: number;
  readonly mismatches: readonly BalanceMismatch[];
  readonly ok: boolean;
  readonly lines: readonly string[];
}

/** Proves every cached balance against the sum of its ledger entries. */
export async function reconcile(db: Kysely<Database>): Promise<ReconcileReport> {
  const { accounts, mismatches } = await findBalanceMismatches(db);
  const lines = mismatches.map(
    (m) => `MISMATCH dormitory ${m.dormitoryId} ${m.purse} (account ${m.accountId}): cached balance ${m.cachedBalance}, ledger sum ${m.ledgerSum}, difference ${m.cachedBalance - m.ledgerSum}`,
  );
  lines.push(`reconcile: ${accounts} accounts checked, ${mismatches.length} mismatch${mismatches.length === 1 ? '' : 'es'}`);
  return { accounts, mismatches, ok: mismatches.length === 0, lines };
}
