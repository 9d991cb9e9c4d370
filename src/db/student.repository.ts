import { sql } from 'kysely';
import { chunks } from './chunks.ts';
import type { Executor } from './executor.ts';

/** A student (the `occupants` table is the student register) and where they live now. */
export interface StudentRecord {
  readonly id: string;
  readonly name: string;
  readonly college: string | null;
  readonly className: string | null;
  readonly phone: string | null;
  readonly email: string | null;
  /** Current placement (kept in step with the open occupancy, same transaction). */
  readonly dormitoryId: string | null;
  readonly bed: number | null;
  readonly hasLogin: boolean;
}

export interface NewStudent {
  readonly id: string;
  readonly name: string;
  readonly college: string;
  readonly className: string;
  readonly phone?: string | null | undefined;
  readonly email?: string | null | undefined;
}

export interface StudentFilter {
  readonly q?: string | undefined;
  readonly college?: string | undefined;
  readonly className?: string | undefined;
  readonly dormitoryId?: string | undefined;
  readonly page: number;
  readonly pageSize: number;
}

function base(db: Executor) {
  return db
    .selectFrom('occupants as s')
    .leftJoin('operators as u', (join) => join.onRef('u.username', '=', 's.student_number').on('u.role', '=', 'student'))
    .select(['s.student_number', 's.name', 's.college', 's.class_name', 's.phone', 's.email', 's.dormitory_id', 's.bed', sql<boolean>`u.id is not null`.as('has_login')]);
}

type Row = { student_number: string; name: string; college: string | null; class_name: string | null; phone: string | null; email: string | null; dormitory_id: string | null; bed: number | null; has_login: boolean };

function toStudent(r: Row): StudentRecord {
  return {
    id: r.student_number,
    name: r.name,
    college: r.college,
    className: r.class_name,
    phone: r.phone,
    email: r.email,
    dormitoryId: r.dormitory_id,
    bed: r.bed,
    hasLogin: Boolean(r.has_login),
  };
}

export async function insertStudent(db: Executor, student: NewStudent): Promise<void> {
  await db
    .insertInto('occupants')
    .values({ student_number: student.id, name: student.name, college: student.college, class_name: student.className, phone: student.phone ?? null, email: student.email ?? null, dormitory_id: null, bed: null, checked_in_at: null, checked_out_at: null })
    .execute();
}

export async function findStudent(db: Executor, id: string): Promise<StudentRecord | undefined> {
  const row = await base(db).where('s.student_number', '=', id).executeTakeFirst();
  return row ? toStudent(row) : undefined;
}

/** Locks the student's row for the rest of the transaction (occupancy changes serialise per student). */
export async function lockStudent(db: Executor, id: string): Promise<StudentRecord | undefined> {
  const locked = await db.selectFrom('occupants').select('student_number').where('student_number', '=', id).forUpdate().executeTakeFirst();
  return locked ? findStudent(db, id) : undefined;
}

export async function listStudents(db: Executor, filter: StudentFilter): Promise<{ items: StudentRecord[]; total: number }> {
  let query = base(db);
  if (filter.q) {
    const like = `%${filter.q.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
    query = query.where((eb) => eb.or([eb('s.student_number', 'ilike', like), eb('s.name', 'ilike', like), eb('s.phone', 'ilike', like), eb('s.email', 'ilike', like)]));
  }
  if (filter.college) query = query.where('s.college', '=', filter.college);
  if (filter.className) query = query.where('s.class_name', '=', filter.className);
  if (filter.dormitoryId) query = query.where('s.dormitory_id', '=', filter.dormitoryId);
  const [rows, count] = await Promise.all([
    query.orderBy('s.student_number').limit(filter.pageSize).offset((filter.page - 1) * filter.pageSize).execute(),
    query.clearSelect().select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow(),
  ]);
  return { items: rows.map(toStudent), total: Number(count.n) };
}

/**
 * Records where a student lives now (null: nowhere), in the caller's transaction: the student
 * row, and the dormitory a student login may read (src/http/auth.plugin.ts assertCanRead).
 */
export async function placeStudent(db: Executor, id: string, placement: { dormitoryId: string; bed: number | null; at: Date } | { dormitoryId: null; at: Date }): Promise<void> {
  await db
    .updateTable('occupants')
    .set(
      placement.dormitoryId === null
        ? { dormitory_id: null, bed: null, checked_out_at: placement.at }
        : { dormitory_id: placement.dormitoryId, bed: placement.bed, checked_in_at: placement.at, checked_out_at: null },
    )
    .where('student_number', '=', id)
    .execute();
  await db.updateTable('operators').set({ dormitory_id: placement.dormitoryId }).where('username', '=', id).where('role', '=', 'student').execute();
}

/** Locks many students' rows in student-number order (as lockStudent does one); returns those that exist. */
export async function lockStudentsInOrder(db: Executor, ids: readonly string[]): Promise<Set<string>> {
  const found = new Set<string>();
  for (const slice of chunks([...new Set(ids)].sort(), 5000)) {
    const rows = await db.selectFrom('occupants').select('student_number').where('student_number', 'in', slice).orderBy('student_number').forUpdate().execute();
    for (const r of rows) found.add(r.student_number);
  }
  return found;
}

/** insertStudent for many, one statement per 1,000 rows. */
export async function insertStudents(db: Executor, students: readonly NewStudent[]): Promise<void> {
  for (const slice of chunks(students, 1000)) {
    await db
      .insertInto('occupants')
      .values(slice.map((s) => ({ student_number: s.id, name: s.name, college: s.college, class_name: s.className, phone: s.phone ?? null, email: s.email ?? null, dormitory_id: null, bed: null, checked_in_at: null, checked_out_at: null })))
      .execute();
  }
}

/** placeStudent for many students moving in at one instant: the student rows and their logins. */
export async function placeStudentsIn(db: Executor, placements: readonly { id: string; dormitoryId: string; bed: number | null }[], at: Date): Promise<void> {
  for (const slice of chunks(placements, 1000)) {
    const values = sql.join(slice.map((p) => sql`(${p.id}, ${p.dormitoryId}, ${p.bed}::integer)`));
    await sql`update occupants as s set dormitory_id = v.dormitory_id, bed = v.bed, checked_in_at = ${at}, checked_out_at = null
      from (values ${values}) as v(student_number, dormitory_id, bed) where s.student_number = v.student_number`.execute(db);
    await sql`update operators as o set dormitory_id = v.dormitory_id
      from (values ${values}) as v(student_number, dormitory_id, bed) where o.username = v.student_number and o.role = 'student'`.execute(db);
  }
}
