import type { Clock } from '../clock.ts';
import type { Purse } from '../db/database.ts';
import { findDormitory } from '../db/dormitory.repository.ts';
import type { Executor } from '../db/executor.ts';
import { purseQuotas } from '../db/quota-policy.repository.ts';
import { localMonthKey, MS_PER_DAY } from '../domain/local-time.ts';
import { quotaRemaining } from '../domain/quota-remaining.ts';
import type { BillingState } from '../domain/tariff.ts';
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

export interface PurseQuota {
  readonly purse: Purse;
  /** Base units (Wh, litres) granted free each local month. */
  readonly monthlyAllowance: number;
  /** Left this local month. */
  readonly remaining: number;
}

/** What `GET /api/me/usage` answers: a student's own room, by day on the campus's clock. */
export interface StudentUsage {
  readonly dormitoryId: string;
  readonly from: string;
  readonly to: string;
  readonly utcOffsetMinutes: number;
  readonly days: readonly UsageBucket[];
  readonly circuits: readonly CircuitDailyUsage[];
  readonly quota: readonly PurseQuota[];
}

/**
 * A room's last `days` days (today included) from the usage report (energy, water, money per
 * day, and each circuit's energy per day), and the free quota left this month per purse.
 */
export async function studentUsage(db: Executor, clock: Clock, dormitoryId: string, days: number): Promise<StudentUsage> {
  const dormitory = await findDormitory(db, dormitoryId);
  if (!dormitory) throw new DomainError('DORMITORY_NOT_FOUND', `dormitory ${dormitoryId} does not exist`);
  const now = clock.now();
  // The buckets are whole local days: from `days - 1` days ago up to and including today.
  const range = { interval: 'day' as const, from: new Date(now - (days - 1) * MS_PER_DAY).toISOString(), to: new Date(now).toISOString() };
  const room = await usageReport(db, clock, { scope: 'dormitory', id: dormitoryId, ...range });
  const circuits: CircuitDailyUsage[] = [];
  for (const circuit of dormitory.circuits) {
    const report = await usageReport(db, clock, { scope: 'circuit', id: circuit.id, ...range });
    circuits.push({ id: circuit.id, kind: circuit.kind, energyWh: report.buckets.map((b) => b.energyWh) });
  }
  const monthKey = localMonthKey(now, room.utcOffsetMinutes);
  const quota = (await purseQuotas(db, dormitoryId)).map((q) => ({
    purse: q.purse,
    monthlyAllowance: q.monthlyAllowance,
    remaining: quotaRemaining(q.billingState as BillingState | null, q.monthlyAllowance, monthKey),
  }));
  return { dormitoryId, from: room.from, to: room.to, utcOffsetMinutes: room.utcOffsetMinutes, days: room.buckets, circuits, quota };
}
