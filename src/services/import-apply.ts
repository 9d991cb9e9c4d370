import type { Kysely } from 'kysely';
import type { Clock } from '../clock.ts';
import { appendAudit } from '../db/audit.repository.ts';
import type { Database } from '../db/database.ts';
import type { Executor } from '../db/executor.ts';
import { loadImportSnapshot } from '../db/import-snapshot.repository.ts';
import { planImport } from '../domain/imports/import-plan.ts';
import type { ImportRows, RowProblem } from '../domain/imports/import-rows.ts';
import { DomainError } from '../errors.ts';
import { checkInBatch } from './batch-check-in.ts';
import { ImportRowFailed } from './import-row-failed.ts';
import { roomsToFlushBeforeCheckIn } from './late-quota.service.ts';
import { importSnapshotOf } from './import-snapshot.ts';
import { checkOut, exchange, runOccupancyChange, type LiveAccounts, type OccupancyChange } from './occupancy.service.ts';

/** The column a service error's field stands for in the sheet. */
const COLUMN_OF_FIELD: Readonly<Record<string, string>> = { studentId: 'studentId', id: 'studentId', toDormitoryId: 'toDormitory', bed: 'bed', date: 'date' };

/** Every problem of a parsed file against the database as it is now (none: the file may apply). */
export async function validateImport(db: Executor, clock: Clock, rows: ImportRows): Promise<RowProblem[]> {
  return planImport(rows, await importSnapshotOf(db, clock, rows));
}

export interface ImportSummary {
  readonly [key: string]: number;
  readonly rows: number;
  readonly studentsOpened: number;
  readonly settlements: number;
  readonly refundedFen: number;
  readonly chargedFen: number;
}

/**
 * Applies a validated file in ONE transaction: check-ins set-wise (batch-check-in.ts, which
 * opens the students a file introduces with a locked login), exchanges and check-outs row by
 * row through the occupancy services (each settles a leaving student), then
 * hands the settlements' balance changes to the live actors after the commit
 * (runOccupancyChange). `progress(n)` is called after each row; throwing from it rolls back.
 */
export async function applyImport(
  deps: { db: Kysely<Database>; clock: Clock; live?: LiveAccounts | undefined },
  input: ImportRows,
  job: { jobId: string; operator: string },
  progress: (applied: number) => void,
): Promise<ImportSummary> {
  const { db, clock } = deps;
  const occupancy = { clock };
  const operator = job.operator;
  let flush: string[] = [];
  if (input.kind !== 'check-ins') {
    const snapshot = await loadImportSnapshot(db, input.rows.map((r) => r.studentId), []);
    flush = [...new Set(snapshot.students.flatMap((s) => (s.stay ? [s.stay.dormitoryId] : [])))];
  } else if (deps.live) {
    // A late occupant's allowance reads the committed quota of the rooms with a per-occupant policy.
    flush = await roomsToFlushBeforeCheckIn(db, input.rows.map((r) => r.dormitoryId));
  }
  let studentsOpened = 0;
  const changes = await runOccupancyChange(db, deps.live, flush, async (trx) => {
    const applied: OccupancyChange[] = [];
    const guarded = async (row: number, apply: () => Promise<OccupancyChange>) => {
      try {
        applied.push(await apply());
      } catch (error) {
        if (error instanceof DomainError) throw new ImportRowFailed({ row, field: COLUMN_OF_FIELD[error.field ?? ''] ?? (input.kind === 'check-ins' ? 'dormitory' : 'studentId'), message: error.message });
        throw error;
      }
      progress(applied.length);
    };
    switch (input.kind) {
      case 'check-ins': {
        const batch = await checkInBatch(trx, occupancy, input.rows, operator, progress);
        applied.push(...batch.changes);
        studentsOpened = batch.studentsOpened;
        break;
      }
      case 'exchanges':
        for (const r of input.rows) await guarded(r.row, () => exchange(trx, occupancy, { studentId: r.studentId, toDormitoryId: r.toDormitoryId, bed: r.bed, operator }));
        break;
      case 'check-outs':
        for (const r of input.rows) await guarded(r.row, () => checkOut(trx, occupancy, { studentId: r.studentId, date: r.date, operator }));
        break;
    }
    await appendAudit(trx, { operator, action: `import.${input.kind}`, targetType: 'job', targetId: job.jobId, details: { rows: input.rows.length, studentsOpened } });
    return applied;
  });
  const settlements = changes.flatMap((c) => c.settlements);
  return {
    rows: changes.length,
    studentsOpened,
    settlements: settlements.filter((s) => s.direction !== 'none').length,
    refundedFen: settlements.filter((s) => s.direction === 'refund').reduce((sum, s) => sum + s.amountFen, 0),
    chargedFen: settlements.filter((s) => s.direction === 'charge').reduce((sum, s) => sum + s.amountFen, 0),
  };
}
