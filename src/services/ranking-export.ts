import type { ArrearsRow, ZeroUseRow } from '../db/ranking.repository.ts';
import type { TopConsumersReport } from './ranking-report.service.ts';
import type { Cell, ReportTable } from './report-export.ts';

/** The ranked lists as flat tables (columns documented in docs/reports.md); long ones read page by page as they are written. */

export function topConsumersTable(report: TopConsumersReport): ReportTable {
  return {
    sheet: 'Top consumers',
    columns: ['rank', 'dormitory', 'building', 'floor', 'room', 'purse', 'usage', 'cost_fen', 'from', 'to'],
    *rows(): Generator<readonly Cell[]> {
      for (const r of report.rows) yield [r.rank, r.dormitoryId, r.buildingId, r.floor, r.room, report.purse, r.usage, r.costFen, report.from, report.to];
    },
  };
}

export function zeroUseTable(list: { from: string; to: string; rows: AsyncIterable<ZeroUseRow> }): ReportTable {
  return {
    sheet: 'Zero use while occupied',
    columns: ['dormitory', 'building', 'floor', 'room', 'occupants', 'last_use_at', 'from', 'to'],
    async *rows(): AsyncGenerator<readonly Cell[]> {
      for await (const r of list.rows) yield [r.dormitoryId, r.buildingId, r.floor, r.room, r.occupants, r.lastUseAt, list.from, list.to];
    },
  };
}

export function arrearsTable(rows: AsyncIterable<ArrearsRow>): ReportTable {
  return {
    sheet: 'Arrears',
    columns: ['dormitory', 'building', 'floor', 'room', 'purse', 'balance_fen', 'below_zero_since', 'cut', 'cut_since'],
    async *rows(): AsyncGenerator<readonly Cell[]> {
      for await (const r of rows) yield [r.dormitoryId, r.buildingId, r.floor, r.room, r.purse, r.balanceFen, r.belowZeroSince, r.cut, r.cutSince];
    },
  };
}
