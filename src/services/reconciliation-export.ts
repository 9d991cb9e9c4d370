import type { ReconciliationReport } from './reconciliation-report.service.ts';
import { MONEY_COLUMNS, type Cell, type ReportTable } from './report-export.ts';

/**
 * The reconciliation as one flat table (CSV and XLSX alike; columns documented in
 * docs/reports.md). `section` says what a row is: `balance` (a building's purse),
 * `balance_total` (a purse over every campus), `channel` (a building's recharges through one
 * channel), `channel_total` (the day's recharges through one channel). Amounts in fen.
 */
export const RECONCILIATION_COLUMNS = [
  'section',
  'date',
  'campus',
  'building',
  'purse',
  'channel',
  ...MONEY_COLUMNS,
  'ledger_closing_fen',
  'ties_out',
  'amount_fen',
  'count',
] as const;

export function reconciliationTable(report: ReconciliationReport): ReportTable {
  return {
    sheet: `Reconciliation ${report.date}`,
    columns: RECONCILIATION_COLUMNS,
    *rows(): Generator<readonly Cell[]> {
      const d = report.date;
      for (const l of report.lines) yield ['balance', d, l.campus, l.building, l.purse, null, l.opening, l.recharges, l.charges, l.refunds, l.adjustments, l.settlements, l.closing, l.ledgerClosing, l.tiesOut, null, null];
      for (const t of report.totals) yield ['balance_total', d, null, null, t.purse, null, t.opening, t.recharges, t.charges, t.refunds, t.adjustments, t.settlements, t.closing, t.ledgerClosing, t.tiesOut, null, null];
      for (const c of report.channels) yield ['channel', d, c.campus, c.building, c.purse, c.channel, null, null, null, null, null, null, null, null, null, c.amount, c.count];
      for (const c of report.channelTotals) yield ['channel_total', d, null, null, c.purse, c.channel, null, null, null, null, null, null, null, null, null, c.amount, c.count];
    },
  };
}
