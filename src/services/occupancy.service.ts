import type { Kysely } from 'kysely';
import type { Clock } from '../clock.ts';
import type { Database } from '../db/database.ts';
import type { Executor } from '../db/executor.ts';
import type { RuntimeFence } from '../db/runtime-lock.ts';
import { appendAudit } from '../db/audit.repository.ts';
import {
  closeOccupancy,
  insertOccupancy,
  lastClosedDay,
  lockRoom,
  openOccupanciesIn,
  openOccupancyOf,
  type Occupancy,
  type RoomForOccupancy,
} from '../db/occupancy.repository.ts';
import type { SettlementRecord } from '../db/settlement.repository.ts';
import { lockStudent, placeStudent, type StudentRecord } from '../db/student.repository.ts';
import { isLocalDay, localDayOf } from '../domain/settlement/local-day.ts';
import { DomainError } from '../errors.ts';
import { grantLateQuota, type LateQuotaGrant } from './late-quota.service.ts';
import { settleClosedStay } from './settlement.service.ts';
import type { BalanceChange } from './balance-change.ts';

/**
 * Check-in, exchange, swap and check-out. Each function runs inside the caller's transaction
 * (`trx` first), so a batch importer can apply many rows in one transaction; each locks the
 * student and the rooms it touches (capacity and beds hold under concurrency), keeps the
 * occupancy history (stays are closed, never deleted), settles a leaving student
 * (settlement.service.ts) and audits. What the live actors must learn is returned as
 * `balanceChanges`: apply them only after the transaction commits (LiveAccounts).
 *
 * Before the transaction, flush the pending billing of every dormitory a student leaves
 * (LiveAccounts.flushBilling): settlement reads the ledger.
 */
export interface OccupancyDeps {
  readonly clock: Clock;
}

export interface OccupancyChange {
  readonly student: string;
  readonly closed: Occupancy | null;
  readonly opened: Occupancy | null;
  readonly settlements: readonly SettlementRecord[];
  readonly balanceChanges: readonly BalanceChange[];
  /** Late occupants' pro rata free quota granted with the change (late-quota.service.ts); absent: none. */
  readonly quotaGrants?: readonly LateQuotaGrant[];
}

/** What the live actor tree offers the office: flush before settling, apply after commit. */
export interface LiveAccounts {
  flushBilling(dormitoryIds: readonly string[]): Promise<void>;
  balanceChanged(change: BalanceChange): void;
  /** Rooms whose occupants changed (a per-occupant quota grants by the count at grant time). */
  occupantsChanged?(dormitoryIds: readonly string[]): Promise<void>;
  /** A late occupant's allowance was committed: the running dormitory adds it to the purse's quota. */
  quotaGranted?(grant: LateQuotaGrant): void;
  /** AppContext.fence: run first in the change's transaction (settlements move money). */
  readonly fence?: RuntimeFence | undefined;
}

async function studentOrThrow(trx: Executor, id: string, field: string): Promise<StudentRecord> {
  const student = await lockStudent(trx, id);
  if (!student) throw new DomainError('STUDENT_NOT_FOUND', `student ${id} does not exist`, field);
  return student;
}

async function roomOrThrow(trx: Executor, id: string, field?: string): Promise<RoomForOccupancy> {
  const room = await lockRoom(trx, id);
  if (!room) throw new DomainError('DORMITORY_NOT_FOUND', `dormitory ${id} does not exist`, field);
  return room;
}

/** Locks rooms in id order, so two exchanges between the same rooms never deadlock. */
async function lockRooms(trx: Executor, ids: readonly { id: string; field?: string }[]): Promise<Map<string, RoomForOccupancy>> {
  const rooms = new Map<string, RoomForOccupancy>();
  for (const { id, field } of [...ids].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))) {
    if (!rooms.has(id)) rooms.set(id, await roomOrThrow(trx, id, field));
  }
  return rooms;
}

const today = (deps: OccupancyDeps, room: RoomForOccupancy) => localDayOf(deps.clock.now(), room.zone);

/** A day for a stay to begin or end in this room: a real day, not in the future, not inside settled history. */
async function checkDay(trx: Executor, deps: OccupancyDeps, room: RoomForOccupancy, day: string, studentId: string, notBefore?: string): Promise<void> {
  if (!isLocalDay(day)) throw new DomainError('DATE_NOT_ALLOWED', `date ${day} is not a calendar day (YYYY-MM-DD)`, 'date');
  const now = today(deps, room);
  if (day > now) throw new DomainError('DATE_NOT_ALLOWED', `date ${day} is in the future (today is ${now})`, 'date');
  if (notBefore && day < notBefore) throw new DomainError('DATE_NOT_ALLOWED', `date ${day} is before the stay began (${notBefore})`, 'date');
  const settledRoom = await lastClosedDay(trx, { dormitoryId: room.id });
  if (settledRoom && day < settledRoom) {
    throw new DomainError('DATE_NOT_ALLOWED', `dormitory ${room.id} is settled up to ${settledRoom}: a stay cannot change before that day`, 'date');
  }
  const settledStudent = await lastClosedDay(trx, { studentId });
  if (settledStudent && day < settledStudent) {
    throw new DomainError('DATE_NOT_ALLOWED', `student ${studentId} lived elsewhere until ${settledStudent}`, 'date');
  }
}

/** Opens a stay in a room with a free bed (the one asked for, or the lowest free one). */
async function enter(trx: Executor, deps: OccupancyDeps, student: string, room: RoomForOccupancy, bed: number | undefined, day: string, operator: string): Promise<Occupancy> {
  const present = await openOccupanciesIn(trx, room.id);
  if (present.length >= room.capacity) throw new DomainError('DORMITORY_FULL', `dormitory ${room.id} is full (${present.length} of ${room.capacity} beds taken)`);
  const taken = new Set(present.map((o) => o.bed));
  let chosen: number | null;
  if (bed !== undefined) {
    if (!Number.isInteger(bed) || bed < 1 || bed > room.capacity) throw new DomainError('VALIDATION_FAILED', `bed must be 1..${room.capacity} in dormitory ${room.id}`, 'bed');
    if (taken.has(bed)) throw new DomainError('BED_TAKEN', `bed ${bed} of dormitory ${room.id} is taken`, 'bed');
    chosen = bed;
  } else {
    chosen = null;
    for (let b = 1; b <= room.capacity && chosen === null; b++) if (!taken.has(b)) chosen = b;
  }
  const opened = await insertOccupancy(trx, { studentId: student, dormitoryId: room.id, bed: chosen, fromDay: day, at: new Date(deps.clock.now()), by: operator });
  await placeStudent(trx, student, { dormitoryId: room.id, bed: chosen, at: new Date(deps.clock.now()) });
  return opened;
}

/** Closes a stay and settles it. */
async function leave(
  trx: Executor,
  deps: OccupancyDeps,
  stay: Occupancy,
  room: RoomForOccupancy,
  day: string,
  reason: 'check_out' | 'exchange' | 'swap',
  operator: string,
): Promise<{ closed: Occupancy; settlements: SettlementRecord[]; balanceChanges: BalanceChange[] }> {
  const at = new Date(deps.clock.now());
  const closed = await closeOccupancy(trx, stay.id, { toDay: day, at, by: operator, reason });
  await placeStudent(trx, stay.studentId, { dormitoryId: null, at });
  const settled = await settleClosedStay(trx, { stay: closed, room, operator, at });
  return { closed, ...settled };
}

async function openStayOrThrow(trx: Executor, studentId: string, field: string): Promise<Occupancy> {
  const stay = await openOccupancyOf(trx, studentId);
  if (!stay) throw new DomainError('NOT_CHECKED_IN', `student ${studentId} is not checked in anywhere`, field);
  return stay;
}

const audit = (trx: Executor, operator: string, action: string, dormitoryId: string, details: Record<string, unknown>) =>
  appendAudit(trx, { operator, action, targetType: 'dormitory', targetId: dormitoryId, details });

export async function checkIn(
  trx: Executor,
  deps: OccupancyDeps,
  command: { studentId: string; dormitoryId: string; bed?: number | undefined; date?: string | undefined; operator: string },
): Promise<OccupancyChange> {
  await studentOrThrow(trx, command.studentId, 'studentId');
  const current = await openOccupancyOf(trx, command.studentId);
  if (current) throw new DomainError('ALREADY_CHECKED_IN', `student ${command.studentId} already lives in ${current.dormitoryId}: exchange or check out first`, 'studentId');
  const room = await roomOrThrow(trx, command.dormitoryId);
  const day = command.date ?? today(deps, room);
  await checkDay(trx, deps, room, day, command.studentId);
  const opened = await enter(trx, deps, command.studentId, room, command.bed, day, command.operator);
  await audit(trx, command.operator, 'occupancy.check_in', room.id, { studentId: command.studentId, occupancyId: opened.id, bed: opened.bed, date: day });
  const quotaGrants = await grantLateQuota(trx, deps.clock.now(), [{ occupancyId: opened.id, studentId: command.studentId, dormitoryId: room.id, fromDay: day, zone: room.zone }], command.operator);
  return { student: command.studentId, closed: null, opened, settlements: [], balanceChanges: [], quotaGrants };
}

export async function checkOut(
  trx: Executor,
  deps: OccupancyDeps,
  command: { studentId: string; date?: string | undefined; operator: string },
): Promise<OccupancyChange> {
  await studentOrThrow(trx, command.studentId, 'studentId');
  const stay = await openStayOrThrow(trx, command.studentId, 'studentId');
  const room = await roomOrThrow(trx, stay.dormitoryId);
  const day = command.date ?? today(deps, room);
  await checkDay(trx, deps, room, day, command.studentId, stay.fromDay);
  const left = await leave(trx, deps, stay, room, day, 'check_out', command.operator);
  await audit(trx, command.operator, 'occupancy.check_out', room.id, { studentId: command.studentId, occupancyId: stay.id, date: day, settlements: left.settlements.map((s) => s.id) });
  return { student: command.studentId, closed: left.closed, opened: null, settlements: left.settlements, balanceChanges: left.balanceChanges };
}

/** Moves a student to another room today: settled in the old room, a new stay in the new one. */
export async function exchange(
  trx: Executor,
  deps: OccupancyDeps,
  command: { studentId: string; toDormitoryId: string; bed?: number | undefined; operator: string },
): Promise<OccupancyChange> {
  await studentOrThrow(trx, command.studentId, 'studentId');
  const stay = await openStayOrThrow(trx, command.studentId, 'studentId');
  if (stay.dormitoryId === command.toDormitoryId) throw new DomainError('SAME_DORMITORY', `student ${command.studentId} already lives in ${stay.dormitoryId}`, 'toDormitoryId');
  const rooms = await lockRooms(trx, [{ id: stay.dormitoryId }, { id: command.toDormitoryId, field: 'toDormitoryId' }]);
  const from = rooms.get(stay.dormitoryId)!;
  const to = rooms.get(command.toDormitoryId)!;
  const day = today(deps, from);
  await checkDay(trx, deps, from, day, command.studentId, stay.fromDay);
  const left = await leave(trx, deps, stay, from, day, 'exchange', command.operator);
  const opened = await enter(trx, deps, command.studentId, to, command.bed, today(deps, to), command.operator);
  await audit(trx, command.operator, 'occupancy.exchange', from.id, { studentId: command.studentId, to: to.id, closed: stay.id, opened: opened.id, bed: opened.bed, settlements: left.settlements.map((s) => s.id) });
  // The stay just closed was open this period: the rule grants nothing (what the old room was granted stays there).
  const quotaGrants = await grantLateQuota(trx, deps.clock.now(), [{ occupancyId: opened.id, studentId: command.studentId, dormitoryId: to.id, fromDay: opened.fromDay, zone: to.zone }], command.operator);
  return { student: command.studentId, closed: left.closed, opened, settlements: left.settlements, balanceChanges: left.balanceChanges, quotaGrants };
}

/** Two students in different rooms trade places (and beds) today; both are settled. */
export async function swap(
  trx: Executor,
  deps: OccupancyDeps,
  command: { studentId: string; withStudentId: string; operator: string },
): Promise<OccupancyChange[]> {
  if (command.studentId === command.withStudentId) throw new DomainError('SAME_DORMITORY', 'a student cannot swap with themselves', 'withStudentId');
  const ordered = [
    { id: command.studentId, field: 'studentId' },
    { id: command.withStudentId, field: 'withStudentId' },
  ].sort((a, b) => (a.id < b.id ? -1 : 1));
  for (const s of ordered) await studentOrThrow(trx, s.id, s.field);
  const a = await openStayOrThrow(trx, command.studentId, 'studentId');
  const b = await openStayOrThrow(trx, command.withStudentId, 'withStudentId');
  if (a.dormitoryId === b.dormitoryId) throw new DomainError('SAME_DORMITORY', `both students live in ${a.dormitoryId}`, 'withStudentId');
  const rooms = await lockRooms(trx, [{ id: a.dormitoryId }, { id: b.dormitoryId }]);
  const roomA = rooms.get(a.dormitoryId)!;
  const roomB = rooms.get(b.dormitoryId)!;
  const dayA = today(deps, roomA);
  const dayB = today(deps, roomB);
  await checkDay(trx, deps, roomA, dayA, a.studentId, a.fromDay);
  await checkDay(trx, deps, roomB, dayB, b.studentId, b.fromDay);
  const leftA = await leave(trx, deps, a, roomA, dayA, 'swap', command.operator);
  const leftB = await leave(trx, deps, b, roomB, dayB, 'swap', command.operator);
  const openedA = await enter(trx, deps, a.studentId, roomB, b.bed ?? undefined, dayB, command.operator);
  const openedB = await enter(trx, deps, b.studentId, roomA, a.bed ?? undefined, dayA, command.operator);
  await audit(trx, command.operator, 'occupancy.swap', roomA.id, { studentId: a.studentId, withStudentId: b.studentId, otherDormitoryId: roomB.id, settlements: [...leftA.settlements, ...leftB.settlements].map((s) => s.id) });
  await audit(trx, command.operator, 'occupancy.swap', roomB.id, { studentId: b.studentId, withStudentId: a.studentId, otherDormitoryId: roomA.id });
  return [
    { student: a.studentId, closed: leftA.closed, opened: openedA, settlements: leftA.settlements, balanceChanges: leftA.balanceChanges },
    { student: b.studentId, closed: leftB.closed, opened: openedB, settlements: leftB.settlements, balanceChanges: leftB.balanceChanges },
  ];
}

/**
 * Runs one office change the way the REST routes (and anything else outside a batch) do:
 * flush the pending billing of the rooms to flush (the rooms a student leaves: settlement reads
 * the ledger; the rooms with a per-occupant quota a student enters: a late occupant's allowance
 * reads the purse's committed quota), apply the change in one transaction, then tell the live
 * dormitory actors about the money that moved and the quota granted.
 */
export async function runOccupancyChange<T extends OccupancyChange | OccupancyChange[]>(
  db: Kysely<Database>,
  live: LiveAccounts | undefined,
  flushDormitoryIds: readonly string[],
  change: (trx: Executor) => Promise<T>,
): Promise<T> {
  if (live && flushDormitoryIds.length > 0) await live.flushBilling(flushDormitoryIds);
  const result = await db.transaction().execute(async (trx) => {
    await live?.fence?.(trx);
    return change(trx);
  });
  const changes = Array.isArray(result) ? result : [result];
  if (live) for (const c of changes) for (const b of c.balanceChanges) live.balanceChanged(b);
  if (live?.quotaGranted) for (const c of changes) for (const g of c.quotaGrants ?? []) live.quotaGranted(g);
  const rooms = changes.flatMap((c) => [c.closed?.dormitoryId, c.opened?.dormitoryId]).filter((id): id is string => id !== undefined);
  if (live?.occupantsChanged && rooms.length > 0) await live.occupantsChanged(rooms);
  return result;
}
