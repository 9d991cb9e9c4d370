import type { Clock } from '../clock.ts';
import type { Executor } from '../db/executor.ts';
import { loadImportSnapshot } from '../db/import-snapshot.repository.ts';
import { namesOf, type ImportSnapshot } from '../domain/imports/import-plan.ts';
import type { ImportRows } from '../domain/imports/import-rows.ts';
import { localDayOf } from '../domain/settlement/local-day.ts';

/** What planImport checks a file against: the students and rooms it names, as `db` sees them now. */
export async function importSnapshotOf(db: Executor, clock: Clock, rows: ImportRows): Promise<ImportSnapshot> {
  const { studentIds, roomIds } = namesOf(rows);
  const loaded = await loadImportSnapshot(db, studentIds, roomIds);
  const now = clock.now();
  return {
    students: new Map(loaded.students.map((s) => [s.id, { stay: s.stay }])),
    rooms: new Map(loaded.rooms.map((r) => [r.id, { capacity: r.capacity, takenBeds: r.takenBeds, today: localDayOf(now, r.zone) }])),
  };
}
