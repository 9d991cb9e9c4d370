import type ExcelJS from 'exceljs';

let loading: Promise<typeof ExcelJS> | undefined;

/**
 * exceljs, loaded on first use: it is the heaviest module the server has (about half a second of
 * CPU to import), and only imports, templates and spreadsheet exports need it, so a process that
 * never touches a workbook (most test files, every CLI command but serve) does not pay for it.
 */
export function loadExcel(): Promise<typeof ExcelJS> {
  loading ??= import('exceljs').then((module) => module.default);
  return loading;
}
