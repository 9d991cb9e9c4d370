import { sql } from 'kysely';
import type { PaymentState, Purse } from './database.ts';
import type { Executor } from './executor.ts';

export interface PaymentRecord {
  readonly id: number;
  readonly provider: string;
  readonly reference: string;
  readonly studentId: string;
  readonly dormitoryId: string;
  readonly purse: Purse;
  readonly amount: number;
  readonly state: PaymentState;
  readonly rechargeId: number | null;
  readonly createdAt: string;
  readonly completedAt: string | null;
  /** Times the pending-payment job asked the provider about it. */
  readonly queryAttempts: number;
}

const COLUMNS = ['id', 'provider', 'reference', 'student_number', 'dormitory_id', 'purse', 'amount', 'state', 'recharge_id', 'created_at', 'completed_at', 'query_attempts'] as const;
type Row = { id: number; provider: string; reference: string; student_number: string; dormitory_id: string; purse: Purse; amount: number; state: PaymentState; recharge_id: number | null; created_at: Date; completed_at: Date | null; query_attempts: number };

const toPayment = (r: Row): PaymentRecord => ({
  id: r.id,
  provider: r.provider,
  reference: r.reference,
  studentId: r.student_number,
  dormitoryId: r.dormitory_id,
  purse: r.purse,
  amount: r.amount,
  state: r.state,
  rechargeId: r.recharge_id,
  createdAt: new Date(r.created_at).toISOString(),
  completedAt: r.completed_at ? new Date(r.completed_at).toISOString() : null,
  queryAttempts: r.query_attempts,
});

export async function insertPayment(db: Executor, input: { provider: string; reference: string; studentId: string; dormitoryId: string; purse: Purse; amount: number; createdAt: Date }): Promise<PaymentRecord> {
  const row = await db
    .insertInto('payments')
    .values({ provider: input.provider, reference: input.reference, student_number: input.studentId, dormitory_id: input.dormitoryId, purse: input.purse, amount: input.amount, created_at: input.createdAt })
    .returning(COLUMNS)
    .executeTakeFirstOrThrow();
  return toPayment(row);
}

/** The payment of a provider's out-trade-no, locked to the caller's transaction (two notifications of one payment serialise here). */
export async function lockPayment(db: Executor, provider: string, reference: string): Promise<PaymentRecord | undefined> {
  const row = await db.selectFrom('payments').select(COLUMNS).where('provider', '=', provider).where('reference', '=', reference).forUpdate().executeTakeFirst();
  return row ? toPayment(row) : undefined;
}

export async function findPayment(db: Executor, reference: string): Promise<PaymentRecord | undefined> {
  const row = await db.selectFrom('payments').select(COLUMNS).where('reference', '=', reference).executeTakeFirst();
  return row ? toPayment(row) : undefined;
}

/** A pending payment leaves `pending` once: paid (with its recharge), failed, or closed at the provider or by expiry. */
export async function completePayment(db: Executor, id: number, outcome: { state: 'paid' | 'failed' | 'closed'; transactionId: string | null; rechargeId: number | null; at: Date }): Promise<void> {
  await db
    .updateTable('payments')
    .set({ state: outcome.state, provider_transaction_id: outcome.transactionId, recharge_id: outcome.rechargeId, completed_at: outcome.at, next_query_at: null })
    .where('id', '=', id)
    .where('state', '=', 'pending')
    .execute();
}

/** Records a notification id; false when the provider sent this id before (a replay). */
export async function recordNotification(db: Executor, input: { provider: string; notificationId: string; reference: string; receivedAt: Date }): Promise<boolean> {
  const row = await db
    .insertInto('payment_notifications')
    .values({ provider: input.provider, notification_id: input.notificationId, reference: input.reference, received_at: input.receivedAt })
    .onConflict((oc) => oc.columns(['provider', 'notification_id']).doNothing())
    .returning('notification_id')
    .executeTakeFirst();
  return row !== undefined;
}

/**
 * Pending payments the pending-payment job asks about now: created before `createdBefore`, and
 * due (never asked, or their backoff has passed), the longest waiting first, at most `limit`.
 */
export async function pendingPaymentsDue(db: Executor, input: { createdBefore: Date; now: Date; limit: number }): Promise<PaymentRecord[]> {
  const rows = await db
    .selectFrom('payments')
    .select(COLUMNS)
    .where('state', '=', 'pending')
    .where('created_at', '<=', input.createdBefore)
    .where((eb) => eb.or([eb('next_query_at', 'is', null), eb('next_query_at', '<=', input.now)]))
    .orderBy(sql`coalesce(next_query_at, created_at)`)
    .orderBy('id')
    .limit(input.limit)
    .execute();
  return rows.map(toPayment);
}

/** The job asked and the payment is still pending (or the ask failed): when to ask again, and why it failed. */
export async function recordPaymentQuery(db: Executor, id: number, input: { nextQueryAt: Date; error: string | null }): Promise<void> {
  await db
    .updateTable('payments')
    .set((eb) => ({ query_attempts: eb('query_attempts', '+', 1), next_query_at: input.nextQueryAt, last_query_error: input.error }))
    .where('id', '=', id)
    .where('state', '=', 'pending')
    .execute();
}
