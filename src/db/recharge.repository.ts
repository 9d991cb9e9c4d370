import type { Purse } from './database.ts';
import type { Executor } from './executor.ts';
import { appendPostings } from './ledger.repository.ts';
import { enqueueNotifications } from './notification.repository.ts';
import { announceRecharge } from '../domain/notifications/announcement.ts';

export type RechargeMethod = 'cash' | 'card' | 'online' | 'campus_card';

export interface RechargeRequest {
  readonly reference: string;
  readonly dormitoryId: string;
  readonly purse: Purse;
  readonly amount: number;
  readonly method: RechargeMethod;
  readonly operator: string;
  readonly occurredAt: Date;
  /** The student who paid, and their stay in this dormitory (their contribution, docs/settlement.md). */
  readonly payer?: { readonly studentId: string; readonly occupancyId: number } | undefined;
  /** The online payment provider that confirmed it: the ledger entry's channel (docs/reports.md). */
  readonly provider?: string | undefined;
}

export interface RechargeRecord {
  readonly id: number;
  readonly reference: string;
  readonly dormitoryId: string;
  readonly purse: Purse;
  readonly amount: number;
  readonly balance: number;
}

export type RechargeOutcome =
  | { readonly kind: 'applied'; readonly recharge: RechargeRecord; readonly ledgerEntryId: number }
  | { readonly kind: 'duplicate'; readonly recharge: RechargeRecord }
  | { readonly kind: 'conflict'; readonly recharge: RechargeRecord };

/**
 * Applies a recharge once per payer reference, inside the caller's transaction. The unique
 * index on `recharges.reference` is the arbiter: a concurrent second insert waits for the
 * first transaction, then does nothing and reads the first result. A reused reference with a
 * different dormitory, purse or amount is a conflict, never a credit.
 */
export async function applyRecharge(trx: Executor, request: RechargeRequest): Promise<RechargeOutcome> {
  const inserted = await trx
    .insertInto('recharges')
    .values({
      reference: request.reference,
      dormitory_id: request.dormitoryId,
      purse: request.purse,
      amount: request.amount,
      method: request.method,
      balance_after: 0,
      operator: request.operator,
      payer_student_number: request.payer?.studentId ?? null,
      occupancy_id: request.payer?.occupancyId ?? null,
    })
    .onConflict((oc) => oc.column('reference').doNothing())
    .returning('id')
    .executeTakeFirst();

  if (!inserted) {
    const existing = await trx
      .selectFrom('recharges')
      .select(['id', 'reference', 'dormitory_id', 'purse', 'amount', 'balance_after', 'payer_student_number'])
      .where('reference', '=', request.reference)
      .executeTakeFirstOrThrow();
    const recharge: RechargeRecord = {
      id: existing.id,
      reference: existing.reference,
      dormitoryId: existing.dormitory_id,
      purse: existing.purse,
      amount: existing.amount,
      balance: existing.balance_after,
    };
    const same =
      existing.dormitory_id === request.dormitoryId &&
      existing.purse === request.purse &&
      existing.amount === request.amount &&
      existing.payer_student_number === (request.payer?.studentId ?? null);
    return { kind: same ? 'duplicate' : 'conflict', recharge };
  }

  const [posted] = await appendPostings(trx, [
    {
      dormitoryId: request.dormitoryId,
      purse: request.purse,
      kind: 'recharge',
      amount: request.amount,
      reference: request.reference,
      operator: request.operator,
      occurredAt: request.occurredAt,
      details: { method: request.method, rechargeId: inserted.id, ...(request.payer ? { payerStudentId: request.payer.studentId } : {}), ...(request.provider ? { provider: request.provider } : {}) },
    },
  ]);
  await trx
    .updateTable('recharges')
    .set({ ledger_entry_id: posted!.id, balance_after: posted!.balanceAfter })
    .where('id', '=', inserted.id)
    .execute();
  await enqueueNotifications(trx, [announceRecharge({ dormitoryId: request.dormitoryId, purse: request.purse, amount: request.amount, balance: posted!.balanceAfter, reference: request.reference, at: request.occurredAt })]);
  return {
    kind: 'applied',
    ledgerEntryId: posted!.id,
    recharge: {
      id: inserted.id,
      reference: request.reference,
      dormitoryId: request.dormitoryId,
      purse: request.purse,
      amount: request.amount,
      balance: posted!.balanceAfter,
    },
  };
}

/** Whether a recharge with this payer reference has committed. */
export async function rechargeExists(db: Executor, reference: string): Promise<boolean> {
  return (await db.selectFrom('recharges').select('id').where('reference', '=', reference).executeTakeFirst()) !== undefined;
}
