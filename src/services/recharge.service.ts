import type { AppContext } from '../app-context.ts';
import type { Purse } from '../db/database.ts';
import { appendAudit } from '../db/audit.repository.ts';
import { dormitoryExists } from '../db/dormitory.repository.ts';
import { openOccupancyOf } from '../db/occupancy.repository.ts';
import type { Executor } from '../db/executor.ts';
import { applyRecharge, rechargeExists, type RechargeMethod, type RechargeOutcome, type RechargeRecord } from '../db/recharge.repository.ts';
import { DomainError } from '../errors.ts';
import { moneyTransaction } from './lost-commit-watch.ts';
import type { BalanceChange } from './balance-change.ts';

export interface RechargeCommand {
  readonly dormitoryId: string;
  readonly purse: Purse;
  readonly amount: number;
  readonly method: RechargeMethod;
  readonly reference: string;
  readonly operator: string;
  /** The paying student: must live in the dormitory now; the recharge is their contribution. */
  readonly studentId?: string | undefined;
  /** The online payment provider that confirmed the payment (docs/payments.md). */
  readonly provider?: string | undefined;
}

/** Told after a credit commits, so the live dormitory can lift a cut-off at once. */
export interface CreditListener {
  creditApplied(change: BalanceChange): void;
  /**
   * A credit (or debit) may have committed without the live dormitory being told: its commit went
   * unanswered and the row was found after (src/services/lost-commit-watch.ts). The dormitory is
   * brought up to date from the database. Not on a repeated reference: a reload there (a payment
   * provider's retries) dropped credits that committed during it (an outside attack).
   */
  creditMaybeMissed?(dormitoryId: string): void;
}

/**
 * A recharge: idempotent by payer reference, acknowledged only after its transaction (the
 * recharge row, the ledger entry, the balance and the audit record) has committed.
 */
export async function recharge(
  context: AppContext,
  command: RechargeCommand,
  listener?: CreditListener,
): Promise<{ created: boolean; recharge: RechargeRecord }> {
  const outcome = await moneyTransaction(
    context,
    (trx) => creditInTransaction(trx, new Date(context.clock.now()), command),
    () => rechargeExists(context.db, command.reference),
    () => listener?.creditMaybeMissed?.(command.dormitoryId),
  );
  return settleRecharge(command, outcome, listener);
}

/**
 * The credit itself, inside the caller's transaction: the dormitory (and the paying student's
 * stay in it) must exist; the recharge row, ledger entry, balance and audit record are written
 * once per reference.
 */
export async function creditInTransaction(trx: Executor, occurredAt: Date, command: RechargeCommand, audit: Record<string, unknown> = {}): Promise<RechargeOutcome> {
  if (!Number.isSafeInteger(command.amount) || command.amount <= 0) {
    throw new DomainError('AMOUNT_NOT_POSITIVE', 'amount must be a positive integer in minor units', 'amount');
  }
  if (!(await dormitoryExists(trx, command.dormitoryId))) {
    throw new DomainError('DORMITORY_NOT_FOUND', `dormitory ${command.dormitoryId} does not exist`);
  }
  const payer = await payerOf(trx, command);
  const result = await applyRecharge(trx, { ...command, payer, occurredAt });
  if (result.kind === 'applied') {
    await appendAudit(trx, {
      operator: command.operator,
      action: 'recharge',
      targetType: 'dormitory',
      targetId: command.dormitoryId,
      details: { purse: command.purse, amount: command.amount, method: command.method, reference: command.reference, rechargeId: result.recharge.id, ...(payer ? { studentId: payer.studentId } : {}), ...audit },
    });
  }
  return result;
}

/** The paying student's open stay in the dormitory, when the recharge names one. */
export async function payerOf(trx: Executor, command: RechargeCommand): Promise<{ studentId: string; occupancyId: number } | undefined> {
  if (command.studentId === undefined) return undefined;
  const stay = await openOccupancyOf(trx, command.studentId);
  if (!stay || stay.dormitoryId !== command.dormitoryId) {
    throw new DomainError('PAYER_NOT_OCCUPANT', `student ${command.studentId} does not live in dormitory ${command.dormitoryId}`, 'studentId');
  }
  return { studentId: command.studentId, occupancyId: stay.id };
}

/** After the commit: a conflict is the client's error; an applied credit is told to the live dormitory. */
export function settleRecharge(command: RechargeCommand, outcome: RechargeOutcome, listener?: CreditListener): { created: boolean; recharge: RechargeRecord } {
  if (outcome.kind === 'conflict') {
    throw new DomainError('REFERENCE_CONFLICT', `reference ${command.reference} was already used for a different recharge`, 'reference');
  }
  if (outcome.kind === 'applied') {
    listener?.creditApplied({ dormitoryId: command.dormitoryId, purse: command.purse, amountFen: command.amount, ledgerEntryId: outcome.ledgerEntryId });
  }
  return { created: outcome.kind === 'applied', recharge: outcome.recharge };
}
