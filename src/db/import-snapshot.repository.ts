import { chunks } from './chunks.ts';
import type { Executor } from './executor.ts';
import { campusZoneReader } from '../domain/campus-settings.ts';
import type { TimeZone } from '../domain/local-time.ts';

export interface StudentPlacement {
  readonly id: string;
  readonly stay: { readonly dormitoryId: string; readonly bed: number | null; readonly fromDay: string } | null;
}

export interface RoomOccupancy {
  readonly id: string;
  readonly capacity: number;
  /** The campus's zone (the room's today). */
  readonly zone: TimeZone;
  readonly takenBeds: (number | null)[];
}

/**
 * What a batch file's validation reads, in a few set queries however long the file: the
 * registered students it names with their open stays, and the rooms it names or that those
 * students live in, with their open stays' beds. Read outside the apply transaction: the
 * services check again, under locks, as they apply.
 */
export async function loadImportSnapshot(db: Executor, studentIds: readonly string[], roomIds: readonly string[]): Promise<{ students: StudentPlacement[]; rooms: RoomOccupancy[] }> {
  const students: StudentPlacement[] = [];
  for (const ids of chunks([...new Set(studentIds)], 5000)) {
    const rows = await db
      .selectFrom('occupants as s')
      .leftJoin('occupancies as o', (join) => join.onRef('o.student_number', '=', 's.student_number').on('o.to_day', 'is', null))
      .select(['s.student_number', 'o.dormitory_id', 'o.bed', 'o.from_day'])
      .where('s.student_number', 'in', ids)
      .execute();
    for (const r of rows) students.push({ id: r.student_number, stay: r.dormitory_id ? { dormitoryId: r.dormitory_id, bed: r.bed, fromDay: r.from_day! } : null });
  }
  const wanted = new Set(roomIds);
  for (const s of students) if (s.stay) wanted.add(s.stay.dormitoryId);
  const rooms = new Map<string, RoomOccupancy>();
  const zoneOf = campusZoneReader();
  for (const ids of chunks([...wanted], 5000)) {
    const rows = await db
      .selectFrom('dormitories as d')
      .innerJoin('buildings as b', 'b.id', 'd.building_id')
      .innerJoin('campuses as c', 'c.id', 'b.campus_id')
      .select(['d.id', 'd.capacity', 'c.utc_offset_minutes', 'c.time_zone'])
      .where('d.id', 'in', ids)
      .execute();
    for (const r of rows) rooms.set(r.id, { id: r.id, capacity: r.capacity, zone: zoneOf(r), takenBeds: [] });
    const stays = await db.selectFrom('occupancies').select(['dormitory_id', 'bed']).where('dormitory_id', 'in', ids).where('to_day', 'is', null).execute();
    for (const s of stays) rooms.get(s.dormitory_id)?.takenBeds.push(s.bed);
  }
  return { students, rooms: [...rooms.values()] };
}

/** Students living somewhere now who match every given field (a check-out by filter), in student-number order. */
export async function checkedInStudents(db: Executor, filter: { college?: string | undefined; className?: string | undefined; building?: string | undefined }): Promise<string[]> {
  let query = db
    .selectFrom('occupancies as o')
    .innerJoin('occupants as s', 's.student_number', 'o.student_number')
    .innerJoin('dormitories as d', 'd.id', 'o.dormitory_id')
    .select('o.student_number')
    .where('o.to_day', 'is', null);
  if (filter.college !== undefined) query = query.where('s.college', '=', filter.college);
  if (filter.className !== undefined) query = query.where('s.class_name', '=', filter.className);
  if (filter.building !== undefined) query = query.where('d.building_id', '=', filter.building);
  const rows = await query.orderBy('o.student_number').execute();
  return rows.map((r) => r.student_number);
}
