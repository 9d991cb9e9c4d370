import type { Kysely } from 'kysely';
import type { Clock } from '../../src/clock.ts';
import type { Database } from '../../src/db/database.ts';
import type { CheckInRow } from '../../src/domain/imports/import-rows.ts';
import { applyImport } from '../../src/services/import-apply.ts';
import type { CampusLoad } from '../campus-load.ts';
import { round } from '../stats.ts';
import type { SyntheticMeter } from '../synthetic-meter.ts';
import { runCutoffLatency, type LatencyFigures, type LatencyParameters } from './cutoff-latency.ts';

export interface ImportDuringLoadFigures {
  readonly rows: number;
  /** applyImport start to commit: the batch check-in's one transaction, while the paced load ran. */
  readonly importSeconds: number;
  readonly rowsPerSecond: number;
  /** Reading -> cut command while the import ran (compare with `latency.underLoad`). */
  readonly latency: LatencyFigures['underLoad'];
}

/**
 * A logistics office's batch check-in (issue 10: "10,000 rows import while the control loop
 * keeps its latency"): `rows` students are opened and checked in through the same service the
 * REST job uses (applyImport: set-wise, one transaction), in this process, while the paced
 * real-time load of the latency phase runs with its own probe dormitories being cut.
 */
export async function runImportDuringLoad(
  load: CampusLoad,
  db: Kysely<Database>,
  clock: Clock,
  parameters: { readonly rows: number; readonly latency: Omit<LatencyParameters, 'idleProbes'> },
  probes: readonly SyntheticMeter[],
): Promise<ImportDuringLoadFigures> {
  const rooms = await db.selectFrom('dormitories').select(['id', 'capacity']).orderBy('id').execute();
  const rows: CheckInRow[] = [];
  for (const room of rooms) {
    for (let bed = 1; bed <= room.capacity && rows.length < parameters.rows; bed++) {
      const i = rows.length;
      rows.push({ row: i + 2, studentId: `B${2026_000_000 + i}`, name: `Student ${i}`, college: `College ${i % 9}`, className: `Class ${i % 60}`, phone: undefined, email: undefined, dormitoryId: room.id, bed: undefined, date: undefined });
    }
  }
  let importSeconds = 0;
  const started = performance.now();
  const imported = applyImport({ db, clock }, { kind: 'check-ins', rows }, { jobId: 'bench-import', operator: 'bench' }, () => {}).then(() => {
    importSeconds = (performance.now() - started) / 1000;
  });
  const latency = await runCutoffLatency(load, { ...parameters.latency, idleProbes: 0 }, probes);
  await imported;
  return { rows: rows.length, importSeconds: round(importSeconds, 2), rowsPerSecond: round(rows.length / importSeconds), latency: latency.underLoad };
}
