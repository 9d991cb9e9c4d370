import type { CheckInRow, CheckOutRow, ExchangeRow, ImportRows, RowProblem } from './import-rows.ts';

/** What the database says now about the students and rooms a file names (read before the transaction). */
export interface ImportSnapshot {
  /** Registered students; `stay` is their open stay, if any. */
  readonly students: ReadonlyMap<string, { readonly stay: { readonly dormitoryId: string; readonly bed: number | null; readonly fromDay: string } | null }>;
  /** Known rooms: beds, the beds of open stays, and the campus's local day today. */
  readonly rooms: ReadonlyMap<string, { readonly capacity: number; readonly takenBeds: readonly (number | null)[]; readonly today: string }>;
}

/** A room as the file's rows above the current one leave it. */
interface RoomTally {
  readonly capacity: number;
  /** Open stays (with or without a bed). */
  present: number;
  readonly beds: Map<number, number>;
  /** The file's rows that moved into it, for the message. */
  readonly fileRows: number[];
}

const listRows = (rows: readonly number[]) => (rows.length <= 5 ? rows.join(', ') : `${rows.slice(0, 5).join(', ')} and ${rows.length - 5} more`);

/**
 * Checks well-formed rows against the snapshot, in file order, as the services will apply
 * them: unknown students and rooms, students in the wrong place, dates in the future or before
 * a stay began, and capacity and beds counting the file's own rows above. Pure: the rows apply
 * (in one transaction) only when this finds nothing. A bed left empty is the lowest free one,
 * as occupancy.service.ts picks it; `placements`, when given, receives each placed row's bed.
 */
export function planImport(input: ImportRows, snapshot: ImportSnapshot, placements?: Map<number, number | null>): RowProblem[] {
  const problems: RowProblem[] = [];
  const tallies = new Map<string, RoomTally>();
  const tally = (id: string): RoomTally | undefined => {
    let t = tallies.get(id);
    if (!t) {
      const room = snapshot.rooms.get(id);
      if (!room) return undefined;
      const beds = new Map<number, number>();
      for (const b of room.takenBeds) if (b !== null) beds.set(b, 0);
      t = { capacity: room.capacity, present: room.takenBeds.length, beds, fileRows: [] };
      tallies.set(id, t);
    }
    return t;
  };
  /** Takes a place (and a bed) in a room for `row`, or says why not. */
  const enter = (id: string, bed: number | undefined, row: number, roomField: 'dormitory' | 'toDormitory'): void => {
    const t = tally(id)!;
    if (t.present >= t.capacity) {
      const others = t.fileRows.length > 0 ? `, counting rows ${listRows(t.fileRows)} of this file` : '';
      problems.push({ row, field: roomField, message: `capacity exceeded: dormitory ${id} has ${t.capacity} beds and all are taken${others}` });
      return;
    }
    let chosen = bed;
    if (chosen !== undefined) {
      if (chosen > t.capacity) {
        problems.push({ row, field: 'bed', message: `bed ${chosen} does not exist: dormitory ${id} has beds 1..${t.capacity}` });
        return;
      }
      const holder = t.beds.get(chosen);
      if (holder !== undefined) {
        problems.push({ row, field: 'bed', message: holder === 0 ? `bed ${chosen} of dormitory ${id} is taken` : `bed ${chosen} of dormitory ${id} is taken by row ${holder} of this file` });
        return;
      }
    } else {
      for (let b = 1; b <= t.capacity && chosen === undefined; b++) if (!t.beds.has(b)) chosen = b;
    }
    t.present++;
    if (chosen !== undefined) t.beds.set(chosen, row);
    t.fileRows.push(row);
    placements?.set(row, chosen ?? null);
  };
  const leave = (id: string, bed: number | null): void => {
    const t = tally(id);
    if (!t) return;
    t.present--;
    if (bed !== null) t.beds.delete(bed);
  };
  const knownRoom = (id: string, row: number, field: 'dormitory' | 'toDormitory'): boolean => {
    if (snapshot.rooms.has(id)) return true;
    problems.push({ row, field, message: `unknown dormitory ${id}` });
    return false;
  };
  const checkDate = (date: string | undefined, row: number, today: string | undefined, notBefore?: string): void => {
    if (date === undefined || today === undefined) return;
    if (date > today) problems.push({ row, field: 'date', message: `bad date ${date}: in the future (today is ${today})` });
    else if (notBefore !== undefined && date < notBefore) problems.push({ row, field: 'date', message: `bad date ${date}: before the stay began (${notBefore})` });
  };

  switch (input.kind) {
    case 'check-ins':
      for (const r of input.rows as readonly CheckInRow[]) {
        const student = snapshot.students.get(r.studentId);
        if (!student) {
          const lacking = (['name', 'college', 'class'] as const).filter((f) => (f === 'class' ? r.className : r[f]) === undefined);
          if (lacking.length > 0) problems.push({ row: r.row, field: 'studentId', message: `unknown student ${r.studentId}: give ${lacking.join(', ')} to open them` });
        } else if (student.stay) {
          problems.push({ row: r.row, field: 'studentId', message: `student ${r.studentId} already lives in ${student.stay.dormitoryId}: exchange or check out first` });
        }
        if (!knownRoom(r.dormitoryId, r.row, 'dormitory')) continue;
        checkDate(r.date, r.row, snapshot.rooms.get(r.dormitoryId)!.today);
        enter(r.dormitoryId, r.bed, r.row, 'dormitory');
      }
      break;
    case 'exchanges':
      for (const r of input.rows as readonly ExchangeRow[]) {
        const student = snapshot.students.get(r.studentId);
        if (!student) problems.push({ row: r.row, field: 'studentId', message: `unknown student ${r.studentId}` });
        else if (!student.stay) problems.push({ row: r.row, field: 'studentId', message: `student ${r.studentId} is not checked in anywhere` });
        if (!knownRoom(r.toDormitoryId, r.row, 'toDormitory')) continue;
        if (!student?.stay) continue;
        if (student.stay.dormitoryId === r.toDormitoryId) {
          problems.push({ row: r.row, field: 'toDormitory', message: `student ${r.studentId} already lives in ${r.toDormitoryId}` });
          continue;
        }
        const before = problems.length;
        enter(r.toDormitoryId, r.bed, r.row, 'toDormitory');
        if (problems.length === before) leave(student.stay.dormitoryId, student.stay.bed);
      }
      break;
    case 'check-outs':
      for (const r of input.rows as readonly CheckOutRow[]) {
        const student = snapshot.students.get(r.studentId);
        if (!student) problems.push({ row: r.row, field: 'studentId', message: `unknown student ${r.studentId}` });
        else if (!student.stay) problems.push({ row: r.row, field: 'studentId', message: `student ${r.studentId} is not checked in anywhere` });
        else checkDate(r.date, r.row, snapshot.rooms.get(student.stay.dormitoryId)?.today, student.stay.fromDay);
      }
      break;
  }
  return problems;
}

/** Rooms and students a file names: what the snapshot must hold. */
export function namesOf(input: ImportRows): { studentIds: string[]; roomIds: string[] } {
  const studentIds = input.rows.map((r) => r.studentId);
  const roomIds = input.kind === 'check-ins' ? input.rows.map((r) => r.dormitoryId) : input.kind === 'exchanges' ? input.rows.map((r) => r.toDormitoryId) : [];
  return { studentIds, roomIds: [...new Set(roomIds)] };
}
