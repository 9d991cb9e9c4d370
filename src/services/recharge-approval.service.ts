import type { AppContext } from '../app-context.ts';
import { appendAudit } from '../db/audit.repository.ts';
import { decidePendingApproval, findApproval, findApprovalByReference, insertPendingApproval, linkApprovalMoneyOperation, linkApprovalRecharge, type RechargeApproval } from '../db/approval.repository.ts';
import type { MoneyOperationRecord } from '../db/money-operation.repository.ts';
import { dormitoryExists } from '../db/dormitory.repository.ts';
import type { RechargeRecord } from '../db/recharge.repository.ts';
import { DomainError } from '../errors.ts';
import { applyInTransaction as applyMoneyOperationInTransaction, settleMoneyOperation, type MoneyOperationCommand, type MoneyOperationListener } from './money-operation.service.ts';
import { creditInTransaction, payerOf, recharge, settleRecharge, type CreditListener, type RechargeCommand } from './recharge.service.ts';

export type RechargeRequestOutcome =
  | { readonly kind: 'recharged'; readonly created: boolean; readonly recharge: RechargeRecord }
  | { readonly kind: 'pending'; readonly approval: RechargeApproval };

const sameRequest = (a: RechargeApproval, c: RechargeCommand): boolean => a.dormitoryId === c.dormitoryId && a.purse === c.purse && a.amount === c.amount;

/**
 * Separation of duties for money in. A recharge up to `thresholdFen` is credited at once; a
 * larger one becomes a pending approval that a second finance user (or an admin), not the
 * requester, must approve before anything is credited. The payer's reference stays the
 * idempotency key across both paths: a repeat finds the pending approval, or the recharge it
 * became; a reference reused for another dormitory, purse or amount is a 409.
 */
export async function requestRecharge(context: AppContext, command: RechargeCommand, thresholdFen: number, listener?: CreditListener): Promise<RechargeRequestOutcome> {
  const waiting = await findApprovalByReference(context.db, command.reference);
  if (waiting) return answerFromApproval(context, waiting, command, listener);
  if (command.amount <= thresholdFen || (await context.db.selectFrom('recharges').select('id').where('reference', '=', command.reference).executeTakeFirst())) {
    return { kind: 'recharged', ...(await recharge(context, command, listener)) };
  }
  const outcome = await context.db.transaction().execute(async (trx) => {
    await context.fence?.(trx);
    if (!(await dormitoryExists(trx, command.dormitoryId))) throw new DomainError('DORMITORY_NOT_FOUND', `dormitory ${command.dormitoryId} does not exist`);
    await payerOf(trx, command); // a payer who does not live there is refused now, not at approval
    const inserted = await insertPendingApproval(trx, { ...command, requestedBy: command.operator, requestedAt: new Date(context.clock.now()) });
    if (inserted.created) {
      await appendAudit(trx, {
        operator: command.operator,
        action: 'recharge.approval_requested',
        targetType: 'dormitory',
        targetId: command.dormitoryId,
        details: { approvalId: inserted.approval.id, purse: command.purse, amount: command.amount, method: command.method, reference: command.reference, thresholdFen },
      });
    }
    return inserted;
  });
  if (!outcome.created) return answerFromApproval(context, outcome.approval, command, listener);
  return { kind: 'pending', approval: outcome.approval };
}

async function answerFromApproval(context: AppContext, approval: RechargeApproval, command: RechargeCommand, listener?: CreditListener): Promise<RechargeRequestOutcome> {
  if (!sameRequest(approval, command)) throw new DomainError('REFERENCE_CONFLICT', `reference ${command.reference} was already used for a different recharge`, 'reference');
  if (approval.state === 'pending') return { kind: 'pending', approval };
  if (approval.state === 'rejected') throw new DomainError('APPROVAL_NOT_PENDING', `the recharge with reference ${command.reference} was rejected by ${approval.decidedBy}`, 'reference');
  // Approved: the recharge exists under the same reference; this answers with it and credits nothing.
  return { kind: 'recharged', ...(await recharge(context, { ...command, operator: approval.requestedBy }, listener)) };
}

/**
 * A second person's decision. Approving applies the operation (a recharge, refund or
 * adjustment) in the same transaction that records the decision (both or neither); the
 * requester cannot decide their own request.
 */
export async function decideRecharge(
  context: AppContext,
  input: { approvalId: number; decision: 'approve' | 'reject'; operator: string },
  listener?: MoneyOperationListener,
): Promise<{ approval: RechargeApproval; recharge: RechargeRecord | undefined; moneyOperation: MoneyOperationRecord | undefined }> {
  const approval = await findApproval(context.db, input.approvalId);
  if (!approval) throw new DomainError('APPROVAL_NOT_FOUND', `approval ${input.approvalId} does not exist`);
  if (approval.requestedBy === input.operator) throw new DomainError('SAME_APPROVER', `${input.operator} requested this ${approval.operation}; another finance user must decide it`);
  if (approval.operation !== 'recharge' && input.decision === 'approve') await listener?.flushBilling?.([approval.dormitoryId]);
  const now = new Date(context.clock.now());
  const decided = await context.db.transaction().execute(async (trx) => {
    await context.fence?.(trx);
    const claimed = await decidePendingApproval(trx, approval.id, input.decision === 'approve' ? 'approved' : 'rejected', input.operator, now);
    if (!claimed) throw new DomainError('APPROVAL_NOT_PENDING', `approval ${approval.id} was already ${(await findApproval(trx, approval.id))?.state ?? 'decided'}`);
    await appendAudit(trx, {
      operator: input.operator,
      action: `${approval.operation}.${input.decision === 'approve' ? 'approve' : 'reject'}`,
      targetType: 'dormitory',
      targetId: approval.dormitoryId,
      details: { approvalId: approval.id, requestedBy: approval.requestedBy, amount: approval.amount, purse: approval.purse, reference: approval.reference },
    });
    if (input.decision === 'reject') return { approval: claimed, applied: undefined };
    if (approval.operation === 'recharge') {
      const command = rechargeCommandOf(approval);
      const outcome = await creditInTransaction(trx, now, command, { approvalId: approval.id, approvedBy: input.operator });
      if (outcome.kind === 'conflict') throw new DomainError('REFERENCE_CONFLICT', `reference ${approval.reference} was already used for a different recharge`, 'reference');
      await linkApprovalRecharge(trx, approval.id, outcome.recharge.id);
      return { approval: { ...claimed, rechargeId: outcome.recharge.id }, applied: { kind: 'recharge' as const, command, outcome } };
    }
    const command: MoneyOperationCommand = { kind: approval.operation, dormitoryId: approval.dormitoryId, purse: approval.purse, amount: approval.amount, reason: approval.reason ?? '', reference: approval.reference, operator: approval.requestedBy };
    const outcome = await applyMoneyOperationInTransaction(trx, now, command, input.operator);
    if (outcome.kind === 'conflict') throw new DomainError('REFERENCE_CONFLICT', `reference ${approval.reference} was already used for a different ${approval.operation}`, 'reference');
    await linkApprovalMoneyOperation(trx, approval.id, outcome.operation.id);
    return { approval: { ...claimed, moneyOperationId: outcome.operation.id }, applied: { kind: 'money' as const, command, outcome } };
  });
  const applied = decided.applied;
  return {
    approval: decided.approval,
    recharge: applied?.kind === 'recharge' ? settleRecharge(applied.command, applied.outcome, listener).recharge : undefined,
    moneyOperation: applied?.kind === 'money' ? settleMoneyOperation(applied.command, applied.outcome, listener).operation : undefined,
  };
}

function rechargeCommandOf(approval: RechargeApproval): RechargeCommand {
  if (approval.method === null) throw new Error(`recharge approval ${approval.id} has no payment method`);
  return { dormitoryId: approval.dormitoryId, purse: approval.purse, amount: approval.amount, method: approval.method, reference: approval.reference, operator: approval.requestedBy, studentId: approval.studentId ?? undefined };
}
