import type { Purse } from '../db/database.ts';
import type { Executor } from '../db/executor.ts';
import { appendAudit } from '../db/audit.repository.ts';
import { appendPostings } from '../db/ledger.repository.ts';
import { staysOverlapping, type Occupancy, type RoomForOccupancy } from '../db/occupancy.repository.ts';
import { contributionsOf, insertSettlement, linkSettlementEntry, roomDays, type SettlementRecord } from '../db/settlement.repository.ts';
import { settleStay } from '../domain/settlement/settlement.ts';
import type { BalanceChange } from './balance-change.ts';
import { enqueueFor } from '../db/notification.repository.ts';
import { settlementMessage } from '../domain/notifications/announcement.ts';


const PURSES: readonly Purse[] = ['electricity', 'water'];

/**
 * Settles a stay that has just been closed, in the caller's transaction, for both purses:
 * reads the room's shared days and the student's contributions, lets the pure rule
 * (src/domain/settlement) decide, records the settlement for finance, and posts the refund
 * (a `refund` entry, negative) or the charge (a `settlement` entry crediting the room with the
 * debt the student now owes) to the ledger. Entries it posts carry `details.settlementId`, so
 * no later settlement shares them out again.
 *
 * The ledger must hold every charge up to the stay's end before this runs: the caller flushes
 * the dormitory's pending billing first (LiveAccounts.flushBilling).
 */
export async function settleClosedStay(
  trx: Executor,
  input: { stay: Occupancy; room: RoomForOccupancy; operator: string; at: Date },
): Promise<{ settlements: SettlementRecord[]; balanceChanges: BalanceChange[] }> {
  const { stay, room } = input;
  if (stay.toDay === null) throw new Error(`stay ${stay.id} is still open`);
  const leaver = { occupancyId: stay.id, fromDay: stay.fromDay, toDay: stay.toDay };
  const stays = (await staysOverlapping(trx, stay.dormitoryId, stay.fromDay, stay.toDay)).map((s) => ({ occupancyId: s.id, fromDay: s.fromDay, toDay: s.toDay }));
  const settlements: SettlementRecord[] = [];
  const balanceChanges: BalanceChange[] = [];
  for (const purse of PURSES) {
    const days = await roomDays(trx, stay.dormitoryId, purse, stay.fromDay, stay.toDay, room.zone);
    const contributionsFen = await contributionsOf(trx, stay.id, purse);
    const verdict = settleStay({ policy: room.settlementPolicy, leaver, stays, days, contributionsFen });
    let record = await insertSettlement(trx, {
      occupancyId: stay.id,
      studentId: stay.studentId,
      dormitoryId: stay.dormitoryId,
      purse,
      policy: room.settlementPolicy,
      ...verdict,
      operator: input.operator,
      settledAt: input.at,
    });
    if (verdict.direction !== 'none') {
      const amountFen = verdict.direction === 'refund' ? -verdict.amountFen : verdict.amountFen;
      const [posted] = await appendPostings(trx, [
        {
          dormitoryId: stay.dormitoryId,
          purse,
          kind: verdict.direction === 'refund' ? 'refund' : 'settlement',
          amount: amountFen,
          reference: `settlement:${record.id}`,
          operator: input.operator,
          occurredAt: input.at,
          details: { settlementId: record.id, studentId: stay.studentId, occupancyId: stay.id, equityFen: verdict.equityFen },
        },
      ]);
      await linkSettlementEntry(trx, record.id, posted!.id);
      record = { ...record, ledgerEntryId: posted!.id };
      balanceChanges.push({ dormitoryId: stay.dormitoryId, purse, amountFen, ledgerEntryId: posted!.id });
    }
    await appendAudit(trx, {
      operator: input.operator,
      action: `settlement.${verdict.direction}`,
      targetType: 'dormitory',
      targetId: stay.dormitoryId,
      details: { settlementId: record.id, studentId: stay.studentId, occupancyId: stay.id, purse, policy: room.settlementPolicy, ...verdict },
    });
    await enqueueFor(trx, [
      {
        to: { recipient: stay.studentId, audience: 'student' },
        announcement: {
          dormitoryId: stay.dormitoryId,
          kind: 'settlement',
          audience: 'students',
          message: settlementMessage(purse, verdict.direction, verdict.amountFen),
          details: { settlementId: record.id, purse, direction: verdict.direction, amountFen: verdict.amountFen },
          at: input.at,
          dedupeKey: `settlement:${record.id}`,
        },
      },
    ]);
    settlements.push(record);
  }
  return { settlements, balanceChanges };
}
