import { Readable } from 'node:stream';
import type ExcelJS from 'exceljs';
import { loadExcel } from './excel.ts';
import { IMPORT_COLUMNS, resolveHeaders, type ColumnName, type ImportKind } from '../domain/imports/import-columns.ts';
import type { CellValue, SheetRow } from '../domain/imports/import-rows.ts';
import { DomainError } from '../errors.ts';

/**
 * Reads and writes the batch workbooks with exceljs. Reading streams the first worksheet
 * (exceljs's streaming reader yields to the event loop between chunks, so a 10,000-row file
 * does not stall the actors) and stops at the row limit.
 */

function flatten(value: ExcelJS.CellValue): CellValue {
  if (value === null || value === undefined) return null;
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean' || value instanceof Date) return value;
  if (typeof value === 'object') {
    if ('richText' in value) return value.richText.map((r) => r.text).join('');
    if ('formula' in value || 'sharedFormula' in value) return flatten((value as ExcelJS.CellFormulaValue).result as ExcelJS.CellValue);
    if ('text' in value) return flatten((value as ExcelJS.CellHyperlinkValue).text);
    if ('error' in value) return null;
  }
  return null;
}

/** The rows of a workbook's first worksheet, streamed (exceljs's streaming reader yields to the event loop between chunks). */
async function* streamedRows(Excel: typeof ExcelJS, file: Buffer): AsyncGenerator<ExcelJS.Row> {
  const reader = new Excel.stream.xlsx.WorkbookReader(Readable.from([file]), { sharedStrings: 'cache', styles: 'cache', hyperlinks: 'ignore', worksheets: 'emit', entries: 'emit' });
  for await (const sheet of reader) {
    yield* sheet as AsyncIterable<ExcelJS.Row>;
    return; // the first worksheet only
  }
}

/** The rows of a workbook's first worksheet, read whole in memory (exceljs's non-streaming reader). */
async function* loadedRows(Excel: typeof ExcelJS, file: Buffer): AsyncGenerator<ExcelJS.Row> {
  const workbook = new Excel.Workbook();
  await workbook.xlsx.load(file as unknown as ExcelJS.Buffer);
  const sheet = workbook.worksheets[0];
  if (!sheet) return;
  const rows: ExcelJS.Row[] = [];
  sheet.eachRow((row) => rows.push(row));
  yield* rows;
}

/** The data rows under the kind's headers (the first row); blank rows are skipped. */
async function rowsUnderHeaders(kind: ImportKind, source: AsyncIterable<ExcelJS.Row>, maxRows: number): Promise<SheetRow[]> {
  const rows: SheetRow[] = [];
  let columns: Map<ColumnName, number> | undefined;
  for await (const row of source) {
    const values = row.values as ExcelJS.CellValue[];
    if (!columns) {
      const headers = new Map<number, string>();
      values.forEach((v, i) => {
        const h = flatten(v);
        if (h !== null) headers.set(i, String(h));
      });
      const resolved = resolveHeaders(kind, headers);
      if (resolved.missing.length > 0) {
        throw new DomainError('IMPORT_HEADER_MISSING', `row ${row.number} must name the columns ${resolved.missing.join(', ')} (docs/imports.md; a template is at /api/imports/${kind}/template.xlsx)`, resolved.missing[0]);
      }
      columns = resolved.columns;
      continue;
    }
    const cells = new Map<ColumnName, CellValue>();
    for (const [name, index] of columns) {
      const v = flatten(values[index]);
      if (v !== null && !(typeof v === 'string' && v.trim() === '')) cells.set(name, v);
    }
    if (cells.size === 0) continue;
    if (rows.length >= maxRows) throw new DomainError('IMPORT_TOO_MANY_ROWS', `the file has more than ${maxRows} data rows: split it`, 'file');
    rows.push({ row: row.number, cells });
  }
  if (!columns) throw new DomainError('IMPORT_HEADER_MISSING', 'the first worksheet is empty: row 1 must be the header row', 'file');
  return rows;
}

/**
 * The data rows of a workbook's first sheet under the kind's headers (row 1); blank rows are
 * skipped. Streamed; if the streaming reader fails inside exceljs, the file is read once more in
 * memory before it is called unreadable: a soak run saw the streaming reader reject a valid
 * upload once ("Cannot read properties of undefined (reading 'sheets')": its zip walk ended
 * before `xl/workbook.xml`, which exceljs writes last), and the in-memory reader does not walk the
 * zip as a stream. A file that is not a workbook fails both.
 */
export async function readImportWorkbook(kind: ImportKind, file: Buffer, maxRows: number): Promise<SheetRow[]> {
  const Excel = await loadExcel();
  try {
    return await rowsUnderHeaders(kind, streamedRows(Excel, file), maxRows);
  } catch (streamed) {
    if (streamed instanceof DomainError) throw streamed;
    try {
      return await rowsUnderHeaders(kind, loadedRows(Excel, file), maxRows);
    } catch (loaded) {
      if (loaded instanceof DomainError) throw loaded;
      const error = streamed;
      throw new DomainError('IMPORT_FILE_UNREADABLE', `the file is not an .xlsx workbook exceljs can read (${error instanceof Error ? error.message : String(error)})`, 'file');
    }
  }
}

/** A template: the kind's headers in row 1, an example in row 2, the Chinese aliases in a note on each header. */
export async function importTemplate(kind: ImportKind): Promise<Buffer> {
  const Excel = await loadExcel();
  const workbook = new Excel.Workbook();
  const sheet = workbook.addWorksheet(kind);
  const specs = IMPORT_COLUMNS[kind];
  sheet.columns = specs.map((s) => ({ header: s.header, key: s.name, width: 16 }));
  specs.forEach((s, i) => {
    const cell = sheet.getRow(1).getCell(i + 1);
    cell.font = { bold: true };
    cell.note = `${s.required ? 'required' : 'optional'}; also accepted: ${s.aliases.join(', ')}`;
  });
  sheet.addRow(Object.fromEntries(specs.map((s) => [s.name, s.example])));
  return Buffer.from(await workbook.xlsx.writeBuffer());
}
