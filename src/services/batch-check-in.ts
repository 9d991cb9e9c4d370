import { appendAudit, type AuditRecord } from '../db/audit.repository.ts';
import { chunks } from '../db/chunks.ts';
import type { Executor } from '../db/executor.ts';
import { insertOccupancies, lastClosedDays, lockRoomsInOrder } from '../db/occupancy.repository.ts';
import { insertStudentLogins, takenUsernames } from '../db/operator.repository.ts';
import { insertStudents, lockStudentsInOrder, placeStudentsIn } from '../db/student.repository.ts';
import { planImport } from '../domain/imports/import-plan.ts';
import type { CheckInRow } from '../domain/imports/import-rows.ts';
import { localDayOf } from '../domain/settlement/local-day.ts';
import { ImportRowFailed } from './import-row-failed.ts';
import { grantLateQuota, type LateQuotaGrant } from './late-quota.service.ts';
import { importSnapshotOf } from './import-snapshot.ts';
import type { OccupancyChange, OccupancyDeps } from './occupancy.service.ts';
import { LOCKED_LOGIN_HASH } from './student.service.ts';

/** Rows written per statement and per progress report. */
const SLICE = 500;

/**
 * A check-in file applied set-wise inside the caller's transaction: the same rules as
 * occupancy.service.ts checkIn (and createStudent with a locked login for students the file
 * introduces), in a few statements per 500 rows instead of ~19 queries per row, so a
 * 10,000-row file takes seconds, not minutes, and holds the database for that long only.
 *
 * Every room and student the file names is locked first, in id order (the order single
 * check-ins lock in, so they cannot deadlock with a batch); then the file is planned again
 * under the locks (capacity, beds, students already placed, dates), and the settled history
 * of each room and student is checked. The first problem found throws ImportRowFailed and the
 * caller's transaction rolls back: nothing of the file is applied.
 */
export async function checkInBatch(
  trx: Executor,
  deps: OccupancyDeps,
  rows: readonly CheckInRow[],
  operator: string,
  progress: (applied: number) => void,
): Promise<{ changes: OccupancyChange[]; studentsOpened: number }> {
  const rooms = await lockRoomsInOrder(trx, rows.map((r) => r.dormitoryId));
  const registered = await lockStudentsInOrder(trx, rows.map((r) => r.studentId));
  const input = { kind: 'check-ins' as const, rows: [...rows] };
  const beds = new Map<number, number | null>();
  const [problem] = planImport(input, await importSnapshotOf(trx, deps.clock, input), beds);
  if (problem) throw new ImportRowFailed(problem);

  const now = deps.clock.now();
  const roomSettled = await lastClosedDays(trx, { dormitoryIds: [...rooms.keys()] });
  const studentSettled = await lastClosedDays(trx, { studentIds: [...registered] });
  const stays = rows.map((r) => {
    const room = rooms.get(r.dormitoryId)!;
    const day = r.date ?? localDayOf(now, room.zone);
    const settledRoom = roomSettled.get(room.id);
    if (settledRoom !== undefined && day < settledRoom) {
      throw new ImportRowFailed({ row: r.row, field: 'date', message: `dormitory ${room.id} is settled up to ${settledRoom}: a stay cannot begin before that day` });
    }
    const settledStudent = studentSettled.get(r.studentId);
    if (settledStudent !== undefined && day < settledStudent) {
      throw new ImportRowFailed({ row: r.row, field: 'date', message: `student ${r.studentId} lived elsewhere until ${settledStudent}` });
    }
    return { row: r.row, studentId: r.studentId, dormitoryId: room.id, bed: beds.get(r.row) ?? null, fromDay: day };
  });

  // Students the file introduces (planImport made sure each has a name, college and class).
  const opening = rows.filter((r) => !registered.has(r.studentId));
  const taken = await takenUsernames(trx, opening.map((r) => r.studentId));
  const clash = opening.find((r) => taken.has(r.studentId));
  if (clash) throw new ImportRowFailed({ row: clash.row, field: 'studentId', message: `a user named ${clash.studentId} already exists` });
  const students = opening.map((r) => ({ id: r.studentId, name: r.name!, college: r.college!, className: r.className!, phone: r.phone ?? null, email: r.email ?? null }));
  await insertStudents(trx, students);
  await insertStudentLogins(trx, students.map((s) => ({ username: s.id, displayName: s.name })), LOCKED_LOGIN_HASH);
  for (const slice of chunks(students, SLICE)) {
    await appendAudit(trx, slice.map((s): AuditRecord => ({ operator, action: 'student.create', targetType: 'student', targetId: s.id, details: { name: s.name, college: s.college, className: s.className } })));
  }

  const at = new Date(now);
  const changes: OccupancyChange[] = [];
  for (const slice of chunks(stays, SLICE)) {
    const opened = await insertOccupancies(trx, slice, { at, by: operator });
    await placeStudentsIn(trx, slice.map((s) => ({ id: s.studentId, dormitoryId: s.dormitoryId, bed: s.bed })), at);
    await appendAudit(
      trx,
      opened.map((o): AuditRecord => ({ operator, action: 'occupancy.check_in', targetType: 'dormitory', targetId: o.dormitoryId, details: { studentId: o.studentId, occupancyId: o.id, bed: o.bed, date: o.fromDay } })),
    );
    for (const o of opened) changes.push({ student: o.studentId, closed: null, opened: o, settlements: [], balanceChanges: [] });
    progress(changes.length);
  }
  // Late occupants of rooms whose per-occupant quota was already granted this period: set-wise, as single check-ins.
  const openedStays = changes.map((c) => ({ occupancyId: c.opened!.id, studentId: c.student, dormitoryId: c.opened!.dormitoryId, fromDay: c.opened!.fromDay, zone: rooms.get(c.opened!.dormitoryId)!.zone }));
  const grants = await grantLateQuota(trx, now, openedStays, operator);
  if (grants.length > 0) {
    const grantsOf = new Map<string, LateQuotaGrant[]>();
    for (const g of grants) grantsOf.set(g.studentId, [...(grantsOf.get(g.studentId) ?? []), g]);
    for (const [i, c] of changes.entries()) if (grantsOf.has(c.student)) changes[i] = { ...c, quotaGrants: grantsOf.get(c.student)! };
  }
  return { changes, studentsOpened: students.length };
}
