/**
 * The columns of each Excel batch (docs/imports.md). A header cell is matched to a column by
 * its English name or any alias, ignoring case, spaces, `_`, `-` and a trailing `(...)`
 * (so `Student ID`, `student_id` and `学号` all name `studentId`). Unknown headers are ignored.
 */
/** The three batches; also the job kinds. */
export type ImportKind = 'check-ins' | 'exchanges' | 'check-outs';

export type ColumnName = 'studentId' | 'name' | 'college' | 'class' | 'phone' | 'email' | 'dormitory' | 'bed' | 'date' | 'toDormitory';

export interface ColumnSpec {
  readonly name: ColumnName;
  /** The header the templates write. */
  readonly header: string;
  readonly required: boolean;
  readonly aliases: readonly string[];
  readonly example: string | number;
}

const STUDENT_ID: ColumnSpec = { name: 'studentId', header: 'studentId', required: true, aliases: ['student', 'studentnumber', 'studentno', '学号', '学生编号'], example: '2026000001' };
const NAME: ColumnSpec = { name: 'name', header: 'name', required: false, aliases: ['studentname', '姓名', '学生姓名'], example: '张伟' };
const COLLEGE: ColumnSpec = { name: 'college', header: 'college', required: false, aliases: ['school', 'faculty', '学院', '院系'], example: '计算机学院' };
const CLASS: ColumnSpec = { name: 'class', header: 'class', required: false, aliases: ['classname', '班级'], example: '计科2601' };
const PHONE: ColumnSpec = { name: 'phone', header: 'phone', required: false, aliases: ['mobile', '电话', '手机', '手机号', '联系电话'], example: '13800000000' };
const EMAIL: ColumnSpec = { name: 'email', header: 'email', required: false, aliases: ['mail', '邮箱', '电子邮箱'], example: 'zhangwei@example.edu' };
const DORMITORY: ColumnSpec = { name: 'dormitory', header: 'dormitory', required: true, aliases: ['dormitoryid', 'room', '宿舍', '宿舍号', '房间', '房间号'], example: 'A-101' };
const BED: ColumnSpec = { name: 'bed', header: 'bed', required: false, aliases: ['bedno', '床位', '床号', '床位号'], example: 1 };
const TO_DORMITORY: ColumnSpec = { name: 'toDormitory', header: 'toDormitory', required: true, aliases: ['todormitoryid', 'newdormitory', 'dormitory', '宿舍', '新宿舍', '调入宿舍', '目标宿舍'], example: 'B-202' };
const CHECK_IN_DATE: ColumnSpec = { name: 'date', header: 'date', required: false, aliases: ['checkindate', '日期', '入住日期'], example: '2026-09-01' };
const CHECK_OUT_DATE: ColumnSpec = { name: 'date', header: 'date', required: false, aliases: ['checkoutdate', '日期', '退宿日期', '离校日期'], example: '2026-09-01' };

export const IMPORT_COLUMNS: Readonly<Record<ImportKind, readonly ColumnSpec[]>> = {
  'check-ins': [STUDENT_ID, NAME, COLLEGE, CLASS, DORMITORY, BED, CHECK_IN_DATE, PHONE, EMAIL],
  exchanges: [STUDENT_ID, NAME, TO_DORMITORY, BED],
  'check-outs': [STUDENT_ID, NAME, CHECK_OUT_DATE],
};

export function normaliseHeader(text: string): string {
  return text
    .trim()
    .replace(/[（(].*[)）]\s*$/u, '')
    .replace(/[\s_\-*]/gu, '')
    .toLowerCase();
}

/**
 * Maps a header row (1-based column numbers to header text) to the kind's columns. Returns the
 * column number of each named column, and the required columns no header names.
 */
export function resolveHeaders(kind: ImportKind, headers: ReadonlyMap<number, string>): { columns: Map<ColumnName, number>; missing: ColumnName[] } {
  const columns = new Map<ColumnName, number>();
  const specs = IMPORT_COLUMNS[kind];
  for (const [index, text] of headers) {
    const key = normaliseHeader(text);
    if (key === '') continue;
    const spec = specs.find((s) => normaliseHeader(s.header) === key) ?? specs.find((s) => s.aliases.some((a) => normaliseHeader(a) === key));
    if (spec && !columns.has(spec.name)) columns.set(spec.name, index);
  }
  const missing = specs.filter((s) => s.required && !columns.has(s.name)).map((s) => s.name);
  return { columns, missing };
}
