import type { MoneyOperationKind, Purse } from './database.ts';
import type { Executor } from './executor.ts';
import { appendPostings } from './ledger.repository.ts';

export interface MoneyOperationRequest {
  readonly kind: MoneyOperationKind;
  readonly reference: string;
  readonly dormitoryId: string;
  readonly purse: Purse;
  /** As requested: a refund positive, an adjustment signed. */
  readonly amount: number;
  readonly reason: string;
  readonly operator: string;
  readonly approvedBy?: string | undefined;
  readonly occurredAt: Date;
}

export interface MoneyOperationRecord {
  readonly id: number;
  readonly kind: MoneyOperationKind;
  readonly reference: string;
  readonly dormitoryId: string;
  readonly purse: Purse;
  readonly amount: number;
  /** The signed change to the purse: a refund's negative, an adjustment's own sign. */
  readonly ledgerAmount: number;
  readonly reason: string;
  readonly operator: string;
  readonly balance: number;
}

export type MoneyOperationOutcome =
  | { readonly kind: 'applied'; readonly operation: MoneyOperationRecord; readonly ledgerEntryId: number }
  | { readonly kind: 'duplicate'; readonly operation: MoneyOperationRecord }
  | { readonly kind: 'conflict'; readonly operation: MoneyOperationRecord };

/** The signed ledger amount of an operation: a refund takes money out of the purse. */
export const ledgerAmountOf = (kind: MoneyOperationKind, amount: number): number => (kind === 'refund' ? -amount : amount);

/**
 * Applies a refund or adjustment once per (kind, reference), inside the caller's transaction,
 * as `applyRecharge` does for recharges: the unique constraint is the arbiter (a concurrent
 * second insert waits for the first transaction, then reads its result); a reused reference
 * with another dormitory, purse or amount is a conflict and changes nothing.
 */
export async function applyMoneyOperation(trx: Executor, request: MoneyOperationRequest): Promise<MoneyOperationOutcome> {
  const inserted = await trx
    .insertInto('money_operations')
    .values({
      kind: request.kind,
      reference: request.reference,
      dormitory_id: request.dormitoryId,
      purse: request.purse,
      amount: request.amount,
      reason: request.reason,
      operator: request.operator,
      approved_by: request.approvedBy ?? null,
    })
    .onConflict((oc) => oc.columns(['kind', 'reference']).doNothing())
    .returning('id')
    .executeTakeFirst();
  if (!inserted) {
    const existing = (await findMoneyOperation(trx, request.kind, request.reference))!;
    const same = existing.dormitoryId === request.dormitoryId && existing.purse === request.purse && existing.amount === request.amount;
    return { kind: same ? 'duplicate' : 'conflict', operation: existing };
  }
  const ledgerAmount = ledgerAmountOf(request.kind, request.amount);
  const [posted] = await appendPostings(trx, [
    {
      dormitoryId: request.dormitoryId,
      purse: request.purse,
      kind: request.kind,
      amount: ledgerAmount,
      reference: request.reference,
      operator: request.operator,
      occurredAt: request.occurredAt,
      details: { moneyOperationId: inserted.id, reason: request.reason, ...(request.approvedBy ? { approvedBy: request.approvedBy } : {}) },
    },
  ]);
  await trx.updateTable('money_operations').set({ ledger_entry_id: posted!.id, balance_after: posted!.balanceAfter }).where('id', '=', inserted.id).execute();
  return {
    kind: 'applied',
    ledgerEntryId: posted!.id,
    operation: { id: inserted.id, kind: request.kind, reference: request.reference, dormitoryId: request.dormitoryId, purse: request.purse, amount: request.amount, ledgerAmount, reason: request.reason, operator: request.operator, balance: posted!.balanceAfter },
  };
}

export async function findMoneyOperation(db: Executor, kind: MoneyOperationKind, reference: string): Promise<MoneyOperationRecord | undefined> {
  const row = await db
    .selectFrom('money_operations')
    .select(['id', 'kind', 'reference', 'dormitory_id', 'purse', 'amount', 'reason', 'operator', 'balance_after'])
    .where('kind', '=', kind)
    .where('reference', '=', reference)
    .executeTakeFirst();
  if (!row) return undefined;
  return {
    id: row.id,
    kind: row.kind,
    reference: row.reference,
    dormitoryId: row.dormitory_id,
    purse: row.purse,
    amount: row.amount,
    ledgerAmount: ledgerAmountOf(row.kind, row.amount),
    reason: row.reason,
    operator: row.operator,
    balance: row.balance_after,
  };
}
