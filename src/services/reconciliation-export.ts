import { totalOf, type ReconciliationLine } from '../domain/reports/reconciliation.ts';
import type { CampusDay } from './reconciliation-report.service.ts';
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

/**
 * Streamed campus by campus: each campus's `balance` and `channel` rows as soon as it is read,
 * then the `balance_total` and `channel_total` rows summed on the way.
 */
export function reconciliationTable(date: string, days: AsyncIterable<CampusDay>): ReportTable {
  return {
    sheet: `Reconciliation ${date}`,
    columns: RECONCILIATION_COLUMNS,
    async *rows(): AsyncGenerator<readonly Cell[]> {
      const d = date;
      // Running totals per purse: one folded line each, not every line of the campus.
      const totals = new Map<string, ReconciliationLine>();
      const channelTotals = new Map<string, { channel: string; purse: string; amount: number; count: number }>();
      for await (const day of days) {
        for (const l of day.lines) {
          const before = totals.get(l.purse);
          totals.set(l.purse, { ...totalOf(before ? [before, l] : [l]), campus: '', building: '', purse: l.purse });
          yield ['balance', d, l.campus, l.building, l.purse, null, l.opening, l.recharges, l.charges, l.refunds, l.adjustments, l.settlements, l.closing, l.ledgerClosing, l.tiesOut, null, null];
        }
        for (const c of day.channels) {
          const key = `${c.channel}\u0000${c.purse}`;
          const total = channelTotals.get(key) ?? { channel: c.channel, purse: c.purse, amount: 0, count: 0 };
          channelTotals.set(key, { ...total, amount: total.amount + c.amount, count: total.count + c.count });
          yield ['channel', d, c.campus, c.building, c.purse, c.channel, null, null, null, null, null, null, null, null, null, c.amount, c.count];
        }
      }
      for (const purse of ['electricity', 'water'] as const) {
        const t = totalOf(totals.has(purse) ? [totals.get(purse)!] : []);
        yield ['balance_total', d, null, null, purse, null, t.opening, t.recharges, t.charges, t.refunds, t.adjustments, t.settlements, t.closing, t.ledgerClosing, t.tiesOut, null, null];
      }
      for (const c of [...channelTotals.values()].sort((a, b) => (a.channel < b.channel ? -1 : a.channel > b.channel ? 1 : a.purse < b.purse ? -1 : a.purse > b.purse ? 1 : 0))) {
        yield ['channel_total', d, null, null, c.purse, c.channel, null, null, null, null, null, null, null, null, null, c.amount, c.count];
      }
    },
  };
}
