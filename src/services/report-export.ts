import { PassThrough, Readable } from 'node:stream';
import { loadExcel } from './excel.ts';

/** The money columns every balance report exports, in this order (docs/reports.md). */
export const MONEY_COLUMNS = ['opening_fen', 'recharges_fen', 'charges_fen', 'refunds_fen', 'adjustments_fen', 'settlements_fen', 'closing_fen'] as const;

export type Cell = string | number | boolean | null;

/** A report as one flat table: documented columns (docs/reports.md) and rows produced on demand. */
export interface ReportTable {
  readonly sheet: string;
  readonly columns: readonly string[];
  rows(): Iterable<readonly Cell[]> | AsyncIterable<readonly Cell[]>;
}

/**
 * A text cell a spreadsheet would run as a formula (=, +, -, @, tab, CR) is prefixed with an
 * apostrophe (OWASP "CSV injection"); numbers stay numbers.
 */
function csvCell(value: Cell): string {
  if (value === null) return '';
  if (typeof value !== 'string') return String(value);
  const safe = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(safe) ? `"${safe.replaceAll('"', '""')}"` : safe;
}

/** RFC 4180 CSV (CRLF, header row), streamed row by row. */
export function csvStream(table: ReportTable): Readable {
  async function* lines(): AsyncGenerator<string> {
    yield `${table.columns.map(csvCell).join(',')}\r\n`;
    for await (const row of table.rows()) yield `${row.map(csvCell).join(',')}\r\n`;
  }
  return Readable.from(lines());
}

/**
 * An .xlsx written with exceljs's streaming writer: each row is committed (and leaves memory)
 * as it is produced, the zip streams out as it is written. A failure destroys the stream, so
 * the client sees a broken download rather than a truncated file that looks whole.
 */
export function xlsxStream(table: ReportTable): Readable {
  const out = new PassThrough();
  const write = async () => {
    const ExcelJS = await loadExcel();
    const workbook = new ExcelJS.stream.xlsx.WorkbookWriter({ stream: out, useStyles: false, useSharedStrings: false });
    const sheet = workbook.addWorksheet(table.sheet);
    sheet.addRow([...table.columns]).commit();
    for await (const row of table.rows()) sheet.addRow([...row]).commit();
    sheet.commit();
    await workbook.commit();
  };
  write().catch((error: unknown) => out.destroy(error instanceof Error ? error : new Error(String(error))));
  return out;
}
