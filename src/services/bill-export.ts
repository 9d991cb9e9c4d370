import type { Bill } from '../db/bill.repository.ts';
import { MONEY_COLUMNS, type Cell, type ReportTable } from './report-export.ts';

/**
 * Bills as one flat table (columns documented in docs/reports.md): per bill a `bill` row, then
 * a `period` row per tariff period or tier, and a `share` row per occupant.
 */
export const BILL_COLUMNS = [
  'section',
  'month',
  'dormitory',
  'building',
  'purse',
  ...MONEY_COLUMNS,
  'usage',
  'quota_granted',
  'quota_used',
  'label',
  'rate',
  'tariff_version',
  'student',
  'days',
  'contributions_fen',
  'consumption_share_fen',
  'shared_credit_share_fen',
  'equity_fen',
] as const;

const blank = (n: number): null[] => Array.from({ length: n }, () => null);

export function billTable(bills: AsyncIterable<Bill>): ReportTable {
  return {
    sheet: 'Monthly bills',
    columns: BILL_COLUMNS,
    async *rows(): AsyncGenerator<readonly Cell[]> {
      for await (const b of bills) {
        const head = [b.month, b.dormitoryId, b.buildingId, b.purse];
        yield ['bill', ...head, b.opening, b.recharges, b.charges, b.refunds, b.adjustments, b.settlements, b.closing, b.usage, b.quotaGranted, b.quotaUsed, ...blank(9)];
        for (const p of b.periods) yield ['period', ...head, ...blank(7), p.usage, null, null, p.label, p.rate, p.version, ...blank(6)];
        for (const s of b.shares) yield ['share', ...head, ...blank(13), s.studentId, s.days, s.contributionsFen, s.consumptionShareFen, s.sharedCreditShareFen, s.equityFen];
      }
    },
  };
}
