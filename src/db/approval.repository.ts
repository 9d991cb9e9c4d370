import type { ApprovalOperation, ApprovalState, Purse } from './database.ts';
import type { Executor } from './executor.ts';
import type { RechargeMethod } from './recharge.repository.ts';

/** A money operation (recharge, refund, adjustment) waiting for (or decided by) a second finance user. */
export interface RechargeApproval {
  readonly id: number;
  readonly operation: ApprovalOperation;
  readonly reference: string;
  readonly dormitoryId: string;
  readonly purse: Purse;
  /** As requested: a recharge or refund positive, an adjustment signed. */
  readonly amount: number;
  /** A recharge's method; null for a refund or adjustment. */
  readonly method: RechargeMethod | null;
  readonly reason: string | null;
  readonly studentId: string | null;
  readonly state: ApprovalState;
  readonly requestedBy: string;
  readonly requestedAt: string;
  readonly decidedBy: string | null;
  readonly decidedAt: string | null;
  readonly rechargeId: number | null;
  readonly moneyOperationId: number | null;
}

const COLUMNS = ['id', 'operation', 'reason', 'money_operation_id', 'reference', 'dormitory_id', 'purse', 'amount', 'method', 'student_id', 'state', 'requested_by', 'requested_at', 'decided_by', 'decided_at', 'recharge_id'] as const;

type Row = { id: number; operation: ApprovalOperation; reason: string | null; money_operation_id: number | null; reference: string; dormitory_id: string; purse: Purse; amount: number; method: string | null; student_id: string | null; state: ApprovalState; requested_by: string; requested_at: Date; decided_by: string | null; decided_at: Date | null; recharge_id: number | null };

function toApproval(row: Row): RechargeApproval {
  return {
    id: row.id,
    operation: row.operation,
    reference: row.reference,
    dormitoryId: row.dormitory_id,
    purse: row.purse,
    amount: row.amount,
    method: row.method as RechargeMethod | null,
    reason: row.reason,
    studentId: row.student_id,
    state: row.state,
    requestedBy: row.requested_by,
    requestedAt: row.requested_at.toISOString(),
    decidedBy: row.decided_by,
    decidedAt: row.decided_at?.toISOString() ?? null,
    rechargeId: row.recharge_id,
    moneyOperationId: row.money_operation_id,
  };
}

/**
 * Inserts a pending approval unless one with the operation's reference exists; returns the one
 * that holds the reference. The reference is unique per operation (a refund and a recharge may
 * share one).
 */
export async function insertPendingApproval(
  db: Executor,
  input: {
    operation?: ApprovalOperation;
    reference: string;
    dormitoryId: string;
    purse: Purse;
    amount: number;
    method: RechargeMethod | null;
    reason?: string | undefined;
    studentId?: string | undefined;
    requestedBy: string;
    requestedAt: Date;
  },
): Promise<{ created: boolean; approval: RechargeApproval }> {
  const operation = input.operation ?? 'recharge';
  const inserted = await db
    .insertInto('recharge_approvals')
    .values({
      operation,
      reference: input.reference,
      dormitory_id: input.dormitoryId,
      purse: input.purse,
      amount: input.amount,
      method: input.method,
      reason: input.reason ?? null,
      student_id: input.studentId ?? null,
      requested_by: input.requestedBy,
      requested_at: input.requestedAt,
    })
    .onConflict((oc) => oc.columns(['operation', 'reference']).doNothing())
    .returning(COLUMNS)
    .executeTakeFirst();
  if (inserted) return { created: true, approval: toApproval(inserted) };
  return { created: false, approval: (await findApprovalByReference(db, input.reference, operation))! };
}

export async function findApprovalByReference(db: Executor, reference: string, operation: ApprovalOperation = 'recharge'): Promise<RechargeApproval | undefined> {
  const row = await db.selectFrom('recharge_approvals').select(COLUMNS).where('operation', '=', operation).where('reference', '=', reference).executeTakeFirst();
  return row ? toApproval(row) : undefined;
}

export async function findApproval(db: Executor, id: number): Promise<RechargeApproval | undefined> {
  const row = await db.selectFrom('recharge_approvals').select(COLUMNS).where('id', '=', id).executeTakeFirst();
  return row ? toApproval(row) : undefined;
}

/** Moves a pending approval to its decision; undefined when it was no longer pending (someone decided first). */
export async function decidePendingApproval(db: Executor, id: number, state: 'approved' | 'rejected', decidedBy: string, decidedAt: Date): Promise<RechargeApproval | undefined> {
  const row = await db
    .updateTable('recharge_approvals')
    .set({ state, decided_by: decidedBy, decided_at: decidedAt })
    .where('id', '=', id)
    .where('state', '=', 'pending')
    .returning(COLUMNS)
    .executeTakeFirst();
  return row ? toApproval(row) : undefined;
}

export async function linkApprovalRecharge(db: Executor, id: number, rechargeId: number): Promise<void> {
  await db.updateTable('recharge_approvals').set({ recharge_id: rechargeId }).where('id', '=', id).execute();
}

export async function linkApprovalMoneyOperation(db: Executor, id: number, moneyOperationId: number): Promise<void> {
  await db.updateTable('recharge_approvals').set({ money_operation_id: moneyOperationId }).where('id', '=', id).execute();
}

export async function listApprovals(db: Executor, filter: { state?: ApprovalState; operation?: ApprovalOperation; page: number; pageSize: number }): Promise<{ items: RechargeApproval[]; total: number }> {
  let query = db.selectFrom('recharge_approvals');
  if (filter.state) query = query.where('state', '=', filter.state);
  if (filter.operation) query = query.where('operation', '=', filter.operation);
  const [rows, count] = await Promise.all([
    query.select(COLUMNS).orderBy('id', 'desc').limit(filter.pageSize).offset((filter.page - 1) * filter.pageSize).execute(),
    query.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow(),
  ]);
  return { items: rows.map(toApproval), total: Number(count.n) };
}
