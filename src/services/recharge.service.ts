import type { AppContext } from '../app-context.ts';
import type { Purse } from '../db/database.ts';
import { appendAudit } from '../db/audit.repository.ts';
import { dormitoryExists } from '../db/dormitory.repository.ts';
import { openOccupancyOf } from '../db/occupancy.repository.ts';
import { applyRecharge, type RechargeMethod, type RechargeRecord } from '../db/recharge.repository.ts';
import { DomainError } from '../errors.ts';

export interface RechargeCommand {
  readonly dormitoryId: string;
  readonly purse: Purse;
  readonly amount: number;
  readonly method: RechargeMethod;
  readonly reference: string;
  readonly operator: string;
  /** The paying student: must live in the dormitory now; the recharge is their contribution. */
  readonly studentId?: string | undefined;
}

/** Told after a credit commits, so the live dormitory can lift a cut-off at once. */
export interface CreditListener {
  creditApplied(dormitoryId: string, purse: Purse, amount: number, balance: number): void;
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
  if (!Number.isSafeInteger(command.amount) || command.amount <= 0) {
    throw new DomainError('AMOUNT_NOT_POSITIVE', 'amount must be a positive integer in minor units', 'amount');
  }
  const outcome = await context.db.transaction().execute(async (trx) => {
    if (!(await dormitoryExists(trx, command.dormitoryId))) {
      throw new DomainError('DORMITORY_NOT_FOUND', `dormitory ${command.dormitoryId} does not exist`);
    }
    let payer: { studentId: string; occupancyId: number } | undefined;
    if (command.studentId !== undefined) {
      const stay = await openOccupancyOf(trx, command.studentId);
      if (!stay || stay.dormitoryId !== command.dormitoryId) {
        throw new DomainError('PAYER_NOT_OCCUPANT', `student ${command.studentId} does not live in dormitory ${command.dormitoryId}`, 'studentId');
      }
      payer = { studentId: command.studentId, occupancyId: stay.id };
    }
    const result = await applyRecharge(trx, { ...command, payer, occurredAt: new Date(context.clock.now()) });
    if (result.kind === 'applied') {
      await appendAudit(trx, {
        operator: command.operator,
        action: 'recharge',
        targetType: 'dormitory',
        targetId: command.dormitoryId,
        details: { purse: command.purse, amount: command.amount, method: command.method, reference: command.reference, rechargeId: result.recharge.id, ...(payer ? { studentId: payer.studentId } : {}) },
      });
    }
    return result;
  });
  if (outcome.kind === 'conflict') {
    throw new DomainError('REFERENCE_CONFLICT', `reference ${command.reference} was already used for a different recharge`, 'reference');
  }
  if (outcome.kind === 'applied') {
    listener?.creditApplied(command.dormitoryId, command.purse, command.amount, outcome.recharge.balance);
  }
  return { created: outcome.kind === 'applied', recharge: outcome.recharge };
}
