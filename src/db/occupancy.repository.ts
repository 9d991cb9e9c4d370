import type { SettlementPolicy } from './database.ts';
import { chunks } from './chunks.ts';
import type { Executor } from './executor.ts';
import { campusZoneOf, campusZoneReader } from '../domain/campus-settings.ts';
import type { TimeZone } from '../domain/local-time.ts';

/** One stay of a student in a dormitory: [fromDay, toDay) in local days. Never deleted. */
export interface Occupancy {
  readonly id: number;
  readonly studentId: string;
  readonly dormitoryId: string;
  readonly bed: number | null;
  readonly fromDay: string;
  readonly toDay: string | null;
  readonly checkedInAt: string;
  readonly checkedInBy: string;
  readonly checkedOutAt: string | null;
  readonly checkedOutBy: string | null;
  readonly endReason: 'check_out' | 'exchange' | 'swap' | null;
}

const columns = ['id', 'student_number', 'dormitory_id', 'bed', 'from_day', 'to_day', 'checked_in_at', 'checked_in_by', 'checked_out_at', 'checked_out_by', 'end_reason'] as const;

function toOccupancy(r: {
  id: number;
  student_number: string;
  dormitory_id: string;
  bed: number | null;
  from_day: string;
  to_day: string | null;
  checked_in_at: Date;
  checked_in_by: string;
  checked_out_at: Date | null;
  checked_out_by: string | null;
  end_reason: Occupancy['endReason'];
}): Occupancy {
  return {
    id: r.id,
    studentId: r.student_number,
    dormitoryId: r.dormitory_id,
    bed: r.bed,
    fromDay: r.from_day,
    toDay: r.to_day,
    checkedInAt: new Date(r.checked_in_at).toISOString(),
    checkedInBy: r.checked_in_by,
    checkedOutAt: r.checked_out_at ? new Date(r.checked_out_at).toISOString() : null,
    checkedOutBy: r.checked_out_by,
    endReason: r.end_reason,
  };
}

/** What an occupancy change needs to know about the room, with the room's row locked to commit. */
export interface RoomForOccupancy {
  readonly id: string;
  readonly capacity: number;
  readonly campusId: string;
  /** The campus's zone: its local days (check-in dates, settlement days) follow it. */
  readonly zone: TimeZone;
  readonly settlementPolicy: SettlementPolicy;
}

/**
 * Locks the dormitory row (check-ins to one room serialise, so capacity holds under
 * concurrency) and reads its campus's day clock and settlement policy
 * (`campuses.settings.settlement`, 'per-share' unless set to 'none').
 */
export async function lockRoom(db: Executor, dormitoryId: string): Promise<RoomForOccupancy | undefined> {
  const locked = await db.selectFrom('dormitories').select(['id', 'capacity', 'building_id']).where('id', '=', dormitoryId).forUpdate().executeTakeFirst();
  if (!locked) return undefined;
  const campus = await db
    .selectFrom('buildings as b')
    .innerJoin('campuses as c', 'c.id', 'b.campus_id')
    .select(['c.id', 'c.utc_offset_minutes', 'c.time_zone', 'c.settings'])
    .where('b.id', '=', locked.building_id)
    .executeTakeFirstOrThrow();
  return {
    id: locked.id,
    capacity: locked.capacity,
    campusId: campus.id,
    zone: campusZoneOf(campus),
    settlementPolicy: campus.settings.settlement === 'none' ? 'none' : 'per-share',
  };
}

export async function openOccupancyOf(db: Executor, studentId: string): Promise<Occupancy | undefined> {
  const row = await db.selectFrom('occupancies').select(columns).where('student_number', '=', studentId).where('to_day', 'is', null).executeTakeFirst();
  return row ? toOccupancy(row) : undefined;
}

export async function openOccupanciesIn(db: Executor, dormitoryId: string): Promise<Occupancy[]> {
  const rows = await db.selectFrom('occupancies').select(columns).where('dormitory_id', '=', dormitoryId).where('to_day', 'is', null).orderBy('id').execute();
  return rows.map(toOccupancy);
}

/** Every stay in the room that overlaps [fromDay, toDay) (open stays included). */
export async function staysOverlapping(db: Executor, dormitoryId: string, fromDay: string, toDay: string): Promise<Occupancy[]> {
  const rows = await db
    .selectFrom('occupancies')
    .select(columns)
    .where('dormitory_id', '=', dormitoryId)
    .where('from_day', '<', toDay)
    .where((eb) => eb.or([eb('to_day', 'is', null), eb('to_day', '>', fromDay)]))
    .orderBy('id')
    .execute();
  return rows.map(toOccupancy);
}

/**
 * The last day already closed in a room (or of a student): stays closed up to it were settled
 * on the room as it was, so no stay may begin or end before it any more.
 */
export async function lastClosedDay(db: Executor, of: { dormitoryId: string } | { studentId: string }): Promise<string | null> {
  let query = db.selectFrom('occupancies').select((eb) => eb.fn.max('to_day').as('day'));
  query = 'dormitoryId' in of ? query.where('dormitory_id', '=', of.dormitoryId) : query.where('student_number', '=', of.studentId);
  const row = await query.executeTakeFirst();
  return (row?.day as string | null | undefined) ?? null;
}

export async function insertOccupancy(
  db: Executor,
  input: { studentId: string; dormitoryId: string; bed: number | null; fromDay: string; at: Date; by: string },
): Promise<Occupancy> {
  const row = await db
    .insertInto('occupancies')
    .values({ student_number: input.studentId, dormitory_id: input.dormitoryId, bed: input.bed, from_day: input.fromDay, checked_in_at: input.at, checked_in_by: input.by })
    .returning(columns)
    .executeTakeFirstOrThrow();
  return toOccupancy(row);
}

export async function closeOccupancy(db: Executor, id: number, input: { toDay: string; at: Date; by: string; reason: 'check_out' | 'exchange' | 'swap' }): Promise<Occupancy> {
  const row = await db
    .updateTable('occupancies')
    .set({ to_day: input.toDay, checked_out_at: input.at, checked_out_by: input.by, end_reason: input.reason })
    .where('id', '=', id)
    .where('to_day', 'is', null)
    .returning(columns)
    .executeTakeFirstOrThrow();
  return toOccupancy(row);
}

export async function occupancyHistory(db: Executor, filter: { dormitoryId?: string; studentId?: string }, limit = 500): Promise<Occupancy[]> {
  let query = db.selectFrom('occupancies').select(columns);
  if (filter.dormitoryId) query = query.where('dormitory_id', '=', filter.dormitoryId);
  if (filter.studentId) query = query.where('student_number', '=', filter.studentId);
  const rows = await query.orderBy('id', 'desc').limit(limit).execute();
  return rows.map(toOccupancy);
}

/**
 * Locks many dormitory rows at once, in id order (the order lockRoom callers use, so a batch
 * and single check-ins never deadlock), and reads their campus clocks. For batch check-ins.
 */
export async function lockRoomsInOrder(db: Executor, dormitoryIds: readonly string[]): Promise<Map<string, RoomForOccupancy>> {
  const rooms = new Map<string, RoomForOccupancy>();
  const sorted = [...new Set(dormitoryIds)].sort();
  const zoneOf = campusZoneReader();
  for (const ids of chunks(sorted, 5000)) {
    await db.selectFrom('dormitories').select('id').where('id', 'in', ids).orderBy('id').forUpdate().execute();
    const rows = await db
      .selectFrom('dormitories as d')
      .innerJoin('buildings as b', 'b.id', 'd.building_id')
      .innerJoin('campuses as c', 'c.id', 'b.campus_id')
      .select(['d.id', 'd.capacity', 'c.id as campus_id', 'c.utc_offset_minutes', 'c.time_zone', 'c.settings'])
      .where('d.id', 'in', ids)
      .execute();
    for (const r of rows) {
      rooms.set(r.id, { id: r.id, capacity: r.capacity, campusId: r.campus_id, zone: zoneOf(r), settlementPolicy: r.settings.settlement === 'none' ? 'none' : 'per-share' });
    }
  }
  return rooms;
}

/** lastClosedDay for many rooms or students at once: id -> the last closed day (ids with none are absent). */
export async function lastClosedDays(db: Executor, of: { dormitoryIds: readonly string[] } | { studentIds: readonly string[] }): Promise<Map<string, string>> {
  const byRoom = 'dormitoryIds' in of;
  const column = byRoom ? 'dormitory_id' : 'student_number';
  const out = new Map<string, string>();
  for (const ids of chunks([...new Set(byRoom ? of.dormitoryIds : of.studentIds)], 5000)) {
    const rows = await db
      .selectFrom('occupancies')
      .select([column, (eb) => eb.fn.max('to_day').as('day')])
      .where(column, 'in', ids)
      .where('to_day', 'is not', null)
      .groupBy(column)
      .execute();
    for (const r of rows) {
      const id = (r as Record<string, unknown>)[column] as string;
      if (r.day !== null) out.set(id, r.day as string);
    }
  }
  return out;
}

/** insertOccupancy for many stays in one statement per 1,000; returned in input order. */
export async function insertOccupancies(
  db: Executor,
  stays: readonly { studentId: string; dormitoryId: string; bed: number | null; fromDay: string }[],
  by: { at: Date; by: string },
): Promise<Occupancy[]> {
  const out: Occupancy[] = [];
  for (const slice of chunks(stays, 1000)) {
    const rows = await db
      .insertInto('occupancies')
      .values(slice.map((s) => ({ student_number: s.studentId, dormitory_id: s.dormitoryId, bed: s.bed, from_day: s.fromDay, checked_in_at: by.at, checked_in_by: by.by })))
      .returning(columns)
      .execute();
    const byStudent = new Map(rows.map((r) => [r.student_number, toOccupancy(r)]));
    for (const s of slice) out.push(byStudent.get(s.studentId)!);
  }
  return out;
}
