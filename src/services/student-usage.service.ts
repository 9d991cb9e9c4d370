import type { Clock } from '../clock.ts';
import { findDormitory } from '../db/dormitory.repository.ts';
import type { Executor } from '../db/executor.ts';
import { resolveUsageScope } from '../db/usage.repository.ts';
import { lastDaysStart } from '../domain/reports/usage-buckets.ts';
import { DomainError } from '../errors.ts';
import { usageReport, type UsageBucket } from './usage-report.service.ts';

/** At most two months of days on a phone. */
export const MAX_USAGE_DAYS = 62;

export interface CircuitDailyUsage {
  readonly id: string;
  readonly kind: string;
  /** Wh per day, aligned with `days`. */
  readonly energyWh: readonly number[];
}

/** What `GET /api/me/usage` answers: a student's own room, by day on the campus's clock. */
export interface StudentUsage {
  readonly dormitoryId: string;
  readonly from: string;
  readonly to: string;
  /** The campus's IANA zone the days are cut on (a day is 23 or 25 hours on a daylight saving switch). */
  readonly timeZone: string;
  readonly days: readonly UsageBucket[];
  readonly circuits: readonly CircuitDailyUsage[];
}

/**
 * A room's last `days` days (today included) from the usage report: energy, water and money
 * per day, and each circuit's energy per day. (The free quota left is in GET /api/dormitories/:id.)
 */
export async function studentUsage(db: Executor, clock: Clock, dormitoryId: string, days: number): Promise<StudentUsage> {
  const dormitory = await findDormitory(db, dormitoryId);
  if (!dormitory) throw new DomainError('DORMITORY_NOT_FOUND', `dormitory ${dormitoryId} does not exist`);
  const resolved = await resolveUsageScope(db, { kind: 'dormitory', dormitoryId });
  if (!resolved) throw new DomainError('DORMITORY_NOT_FOUND', `dormitory ${dormitoryId} does not exist`);
  const now = clock.now();
  // The buckets are whole local days of the campus's zone: from `days - 1` days ago up to and including today.
  const range = { interval: 'day' as const, from: new Date(lastDaysStart(now, days, resolved.zone)).toISOString(), to: new Date(now).toISOString() };
  const room = await usageReport(db, clock, { scope: 'dormitory', id: dormitoryId, ...range });
  const circuits: CircuitDailyUsage[] = [];
  for (const circuit of dormitory.circuits) {
    const report = await usageReport(db, clock, { scope: 'circuit', id: circuit.id, ...range });
    circuits.push({ id: circuit.id, kind: circuit.kind, energyWh: report.buckets.map((b) => b.energyWh) });
  }
  return { dormitoryId, from: room.from, to: room.to, timeZone: room.timeZone, days: room.buckets, circuits };
}
