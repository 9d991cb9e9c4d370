import { isLocalDay } from '../settlement/local-day.ts';
import { IMPORT_COLUMNS, type ColumnName, type ImportKind } from './import-columns.ts';

/** A cell as the workbook reader hands it over (rich text, formulas and links already flattened). */
export type CellValue = string | number | boolean | Date | null;

/** One data row of a sheet: its row number in the sheet and its cells by column name. */
export interface SheetRow {
  readonly row: number;
  readonly cells: ReadonlyMap<ColumnName, CellValue>;
}

export interface RowProblem {
  readonly row: number;
  readonly field: ColumnName | 'file' | 'job';
  readonly message: string;
}

export interface CheckInRow {
  readonly row: number;
  readonly studentId: string;
  readonly name: string | undefined;
  readonly college: string | undefined;
  readonly className: string | undefined;
  readonly phone: string | undefined;
  readonly email: string | undefined;
  readonly dormitoryId: string;
  readonly bed: number | undefined;
  readonly date: string | undefined;
}

export interface ExchangeRow {
  readonly row: number;
  readonly studentId: string;
  readonly toDormitoryId: string;
  readonly bed: number | undefined;
}

export interface CheckOutRow {
  readonly row: number;
  readonly studentId: string;
  readonly date: string | undefined;
}

export type ImportRows = { kind: 'check-ins'; rows: CheckInRow[] } | { kind: 'exchanges'; rows: ExchangeRow[] } | { kind: 'check-outs'; rows: CheckOutRow[] };

const STUDENT_ID = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
const PHONE = /^[0-9+() -]{3,32}$/;
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
const SLASHED_DAY = /^(\d{4})[/.年-](\d{1,2})[/.月-](\d{1,2})日?$/u;
/** Same bounds as the REST schemas (src/http/office-schemas.ts, student.routes.ts). */
const MAX_TEXT = 100;
const MAX_BED = 64;

function text(value: CellValue | undefined): string | undefined {
  if (value === null || value === undefined) return undefined;
  if (value instanceof Date) return value.toISOString();
  // Excel stores a student number typed as digits as a number: 2026000001, not 2.026E9.
  const s = typeof value === 'number' ? (Number.isInteger(value) ? value.toFixed(0) : String(value)) : String(value);
  const trimmed = s.trim();
  return trimmed === '' ? undefined : trimmed;
}

/** An Excel date cell (a Date at UTC midnight of the day typed), or text `2026-09-01`, `2026/9/1`, `2026年9月1日`. */
export function dayOfCell(value: CellValue | undefined): { day: string | undefined } | { error: string } {
  if (value === null || value === undefined) return { day: undefined };
  if (value instanceof Date) {
    if (Number.isNaN(value.getTime())) return { error: 'bad date: not a date' };
    const day = value.toISOString().slice(0, 10);
    return { day };
  }
  const raw = text(value);
  if (raw === undefined) return { day: undefined };
  const slashed = SLASHED_DAY.exec(raw);
  const day = slashed ? `${slashed[1]}-${slashed[2]!.padStart(2, '0')}-${slashed[3]!.padStart(2, '0')}` : raw;
  return isLocalDay(day) ? { day } : { error: `bad date "${raw}": use YYYY-MM-DD (a real calendar day)` };
}

/** Parses every row of a kind's sheet into typed rows, naming each problem with its row and column. */
export function parseRows(kind: ImportKind, sheet: readonly SheetRow[]): { rows: ImportRows; problems: RowProblem[] } {
  const problems: RowProblem[] = [];
  const firstRowOf = new Map<string, number>();
  const rows: (CheckInRow | ExchangeRow | CheckOutRow)[] = [];
  for (const { row, cells } of sheet) {
    const problem = (field: ColumnName, message: string) => problems.push({ row, field, message });
    const before = problems.length;
    const cell = (name: ColumnName) => text(cells.get(name));
    const bounded = (name: ColumnName, max = MAX_TEXT) => {
      const value = cell(name);
      if (value !== undefined && value.length > max) problem(name, `${name} is longer than ${max} characters`);
      return value;
    };

    const studentId = cell('studentId');
    if (studentId === undefined) problem('studentId', 'studentId is empty');
    else if (studentId.length > 64 || !STUDENT_ID.test(studentId)) problem('studentId', `student number "${studentId}" may hold only letters, digits, . _ - (64 at most)`);
    else {
      const first = firstRowOf.get(studentId);
      if (first !== undefined) problem('studentId', `duplicate in file: student ${studentId} is also on row ${first}`);
      else firstRowOf.set(studentId, row);
    }

    let bed: number | undefined;
    const bedCell = cells.get('bed');
    if (bedCell !== null && bedCell !== undefined && text(bedCell) !== undefined) {
      const n = typeof bedCell === 'number' ? bedCell : Number(text(bedCell));
      if (!Number.isInteger(n) || n < 1 || n > MAX_BED) problem('bed', `bed must be a whole number 1..${MAX_BED}, got "${text(bedCell)}"`);
      else bed = n;
    }

    let date: string | undefined;
    if (IMPORT_COLUMNS[kind].some((c) => c.name === 'date')) {
      const parsed = dayOfCell(cells.get('date'));
      if ('error' in parsed) problem('date', parsed.error);
      else date = parsed.day;
    }

    switch (kind) {
      case 'check-ins': {
        const dormitoryId = bounded('dormitory');
        if (dormitoryId === undefined) problem('dormitory', 'dormitory is empty');
        const phone = cell('phone');
        if (phone !== undefined && !PHONE.test(phone)) problem('phone', `phone "${phone}" may hold only digits, spaces and + ( ) - (3 to 32)`);
        const email = bounded('email', 200);
        if (email !== undefined && !EMAIL.test(email)) problem('email', `e-mail "${email}" is not an address`);
        const parsed: CheckInRow = { row, studentId: studentId ?? '', name: bounded('name'), college: bounded('college'), className: bounded('class'), phone, email, dormitoryId: dormitoryId ?? '', bed, date };
        if (problems.length === before) rows.push(parsed);
        break;
      }
      case 'exchanges': {
        const toDormitoryId = bounded('toDormitory');
        if (toDormitoryId === undefined) problem('toDormitory', 'toDormitory is empty');
        if (problems.length === before) rows.push({ row, studentId: studentId!, toDormitoryId: toDormitoryId!, bed });
        break;
      }
      case 'check-outs':
        if (problems.length === before) rows.push({ row, studentId: studentId!, date });
        break;
    }
  }
  return { rows: { kind, rows } as ImportRows, problems };
}
