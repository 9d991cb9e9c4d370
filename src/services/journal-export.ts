import type { AlarmJournalRow, MoneyJournalKind, MoneyJournalRow } from '../db/journal.repository.ts';
import type { Cell, ReportTable } from './report-export.ts';

/** Journals as flat tables (columns documented in docs/reports.md), read page by page as they are written. */

const SHEETS: Record<MoneyJournalKind, string> = { recharge: 'Recharges', refund: 'Refunds', adjustment: 'Adjustments' };

export function moneyJournalTable(kind: MoneyJournalKind, rows: AsyncIterable<MoneyJournalRow>): ReportTable {
  return {
    sheet: SHEETS[kind],
    columns: ['entry', 'occurred_at', 'campus', 'building', 'dormitory', 'purse', 'amount_fen', 'balance_after_fen', 'reference', 'operator', 'channel', 'reason', 'approved_by', 'student', 'source'],
    async *rows(): AsyncGenerator<readonly Cell[]> {
      for await (const r of rows) {
        yield [r.entryId, r.occurredAt, r.campusId, r.buildingId, r.dormitoryId, r.purse, r.amountFen, r.balanceAfterFen, r.reference, r.operator, r.channel, r.reason, r.approvedBy, r.studentId, r.source];
      }
    },
  };
}

export function alarmJournalTable(rows: AsyncIterable<AlarmJournalRow>): ReportTable {
  return {
    sheet: 'Alarm history',
    columns: ['alarm', 'raised_at', 'campus', 'kind', 'severity', 'state', 'dormitory', 'meter', 'gateway', 'circuit', 'message', 'acknowledged_at', 'acknowledged_by', 'released_at', 'released_by', 'release_reason'],
    async *rows(): AsyncGenerator<readonly Cell[]> {
      for await (const r of rows) {
        yield [r.alarmId, r.raisedAt, r.campusId, r.kind, r.severity, r.state, r.dormitoryId, r.meterId, r.gatewayId, r.circuit, r.message, r.acknowledgedAt, r.acknowledgedBy, r.releasedAt, r.releasedBy, r.releaseReason];
      }
    },
  };
}
