import type { AppContext } from '../app-context.ts';
import type { MoneyOperationKind, Purse } from '../db/database.ts';
import { findApprovalByReference, insertPendingApproval, type RechargeApproval } from '../db/approval.repository.ts';
import { appendAudit } from '../db/audit.repository.ts';
import { dormitoryExists } from '../db/dormitory.repository.ts';
import type { Executor } from '../db/executor.ts';
import { applyMoneyOperation, findMoneyOperation, type MoneyOperationOutcome, type MoneyOperationRecord } from '../db/money-operation.repository.ts';
import { DomainError } from '../errors.ts';
import type { CreditListener } from './recharge.service.ts';
import { moneyTransaction } from './lost-commit-watch.ts';

export interface MoneyOperationCommand {
  readonly kind: MoneyOperationKind;
  readonly dormitoryId: string;
  readonly purse: Purse;
  /** A refund: positive fen paid back out of the purse. An adjustment: signed fen. */
  readonly amount: number;
  readonly reason: string;
  readonly reference: string;
  readonly operator: string;
}

/** The live side of a money operation: charges not yet posted reach the ledger first; the result reaches the dormitory actor. */
export interface MoneyOperationListener extends CreditListener {
  flushBilling?(dormitoryIds: readonly string[]): Promise<void>;
}

export type MoneyOperationRequestOutcome =
  | { readonly kind: 'applied'; readonly created: boolean; readonly operation: MoneyOperationRecord }
  | { readonly kind: 'pending'; readonly approval: RechargeApproval };

const sameRequest = (a: RechargeApproval, c: MoneyOperationCommand): boolean => a.dormitoryId === c.dormitoryId && a.purse === c.purse && a.amount === c.amount;

function checkAmount(command: MoneyOperationCommand): void {
  const valid = Number.isSafeInteger(command.amount) && (command.kind === 'refund' ? command.amount > 0 : command.amount !== 0);
  if (valid) return;
  if (command.kind === 'refund') throw new DomainError('AMOUNT_NOT_POSITIVE', 'a refund is a positive integer in minor units', 'amount');
  throw new DomainError('AMOUNT_ZERO', 'an adjustment is a non-zero integer in minor units', 'amount');
}

/**
 * A refund or an adjustment by the finance office, with the separation of duties of recharges
 * (docs/architecture.md): up to `thresholdFen` (absolute) it is applied at once; above, it
 * waits for a second finance user at POST /api/approvals/:id. Idempotent by (kind, reference)
 * across both paths. Before a refund the dormitory's unposted charges are flushed, so "a refund
 * may not take the purse below zero" is judged on the balance the meters have really used.
 */
export async function requestMoneyOperation(context: AppContext, command: MoneyOperationCommand, thresholdFen: number, listener?: MoneyOperationListener): Promise<MoneyOperationRequestOutcome> {
  checkAmount(command);
  const waiting = await findApprovalByReference(context.db, command.reference, command.kind);
  if (waiting) return answerFromApproval(context, waiting, command);
  if (Math.abs(command.amount) <= thresholdFen || (await findMoneyOperation(context.db, command.kind, command.reference))) {
    return { kind: 'applied', ...(await applyNow(context, command, listener)) };
  }
  const outcome = await context.db.transaction().execute(async (trx) => {
    await context.fence?.(trx);
    if (!(await dormitoryExists(trx, command.dormitoryId))) throw new DomainError('DORMITORY_NOT_FOUND', `dormitory ${command.dormitoryId} does not exist`);
    const inserted = await insertPendingApproval(trx, {
      operation: command.kind,
      reference: command.reference,
      dormitoryId: command.dormitoryId,
      purse: command.purse,
      amount: command.amount,
      method: null,
      reason: command.reason,
      requestedBy: command.operator,
      requestedAt: new Date(context.clock.now()),
    });
    if (inserted.created) {
      await appendAudit(trx, {
        operator: command.operator,
        action: `${command.kind}.approval_requested`,
        targetType: 'dormitory',
        targetId: command.dormitoryId,
        details: { approvalId: inserted.approval.id, purse: command.purse, amount: command.amount, reason: command.reason, reference: command.reference, thresholdFen },
      });
    }
    return inserted;
  });
  if (!outcome.created) return answerFromApproval(context, outcome.approval, command);
  return { kind: 'pending', approval: outcome.approval };
}

async function answerFromApproval(context: AppContext, approval: RechargeApproval, command: MoneyOperationCommand): Promise<MoneyOperationRequestOutcome> {
  if (!sameRequest(approval, command)) throw conflict(command);
  if (approval.state === 'pending') return { kind: 'pending', approval };
  if (approval.state === 'rejected') throw new DomainError('APPROVAL_NOT_PENDING', `the ${command.kind} with reference ${command.reference} was rejected by ${approval.decidedBy}`, 'reference');
  const done = await findMoneyOperation(context.db, command.kind, command.reference);
  if (!done) throw new DomainError('APPROVAL_NOT_PENDING', `the ${command.kind} with reference ${command.reference} is being applied`, 'reference');
  return { kind: 'applied', created: false, operation: done };
}

const conflict = (command: MoneyOperationCommand) => new DomainError('REFERENCE_CONFLICT', `reference ${command.reference} was already used for a different ${command.kind}`, 'reference');

async function applyNow(context: AppContext, command: MoneyOperationCommand, listener?: MoneyOperationListener): Promise<{ created: boolean; operation: MoneyOperationRecord }> {
  if (command.kind === 'refund') await listener?.flushBilling?.([command.dormitoryId]);
  const outcome = await moneyTransaction(
    context,
    (trx) => applyInTransaction(trx, new Date(context.clock.now()), command),
    async () => (await findMoneyOperation(context.db, command.kind, command.reference)) !== undefined,
    () => listener?.creditMaybeMissed?.(command.dormitoryId),
  );
  return settleMoneyOperation(command, outcome, listener);
}

/**
 * The operation itself inside the caller's transaction: the ledger entry, the operation row,
 * the balance and the audit record, once per (kind, reference). A refund that would take the
 * purse below zero is refused (the transaction rolls back).
 */
export async function applyInTransaction(trx: Executor, occurredAt: Date, command: MoneyOperationCommand, approvedBy?: string): Promise<MoneyOperationOutcome> {
  checkAmount(command);
  if (!(await dormitoryExists(trx, command.dormitoryId))) throw new DomainError('DORMITORY_NOT_FOUND', `dormitory ${command.dormitoryId} does not exist`);
  const outcome = await applyMoneyOperation(trx, { ...command, approvedBy, occurredAt });
  if (outcome.kind !== 'applied') return outcome;
  const op = outcome.operation;
  if (op.kind === 'refund' && op.balance < 0) {
    throw new DomainError('REFUND_EXCEEDS_BALANCE', `a refund of ${op.amount} would leave the ${op.purse} purse of ${op.dormitoryId} at ${op.balance}`, 'amount');
  }
  await appendAudit(trx, {
    operator: command.operator,
    action: command.kind,
    targetType: 'dormitory',
    targetId: command.dormitoryId,
    details: { purse: op.purse, amount: op.amount, ledgerAmount: op.ledgerAmount, reason: op.reason, reference: op.reference, moneyOperationId: op.id, balanceAfter: op.balance, ...(approvedBy ? { approvedBy } : {}) },
  });
  return outcome;
}

/** After the commit: a conflict is the client's error; an applied operation moves the live balance as a recharge does. */
export function settleMoneyOperation(command: MoneyOperationCommand, outcome: MoneyOperationOutcome, listener?: CreditListener): { created: boolean; operation: MoneyOperationRecord } {
  if (outcome.kind === 'conflict') throw conflict(command);
  if (outcome.kind === 'applied') listener?.creditApplied({ dormitoryId: command.dormitoryId, purse: command.purse, amountFen: outcome.operation.ledgerAmount, ledgerEntryId: outcome.ledgerEntryId });
  return { created: outcome.kind === 'applied', operation: outcome.operation };
}
