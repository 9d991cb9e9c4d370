import type { Cell, ReportTable } from './report-export.ts';
import type { UsageReport } from './usage-report.service.ts';

/** The usage report as one flat table, one row per bucket (columns documented in docs/reports.md). */
export const USAGE_COLUMNS = ['scope', 'id', 'interval', 'start', 'energy_wh', 'cost_fen', 'peak_w', 'water_l', 'water_cost_fen'] as const;

export function usageTable(report: UsageReport): ReportTable {
  return {
    sheet: `Usage ${report.scope}`,
    columns: USAGE_COLUMNS,
    *rows(): Generator<readonly Cell[]> {
      for (const b of report.buckets) yield [report.scope, report.id, report.interval, b.start, b.energyWh, b.costFen, b.peakW, b.waterL, b.waterCostFen];
    },
  };
}
