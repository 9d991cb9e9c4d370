import { sql } from 'kysely';
import { chunks } from './chunks.ts';
import type { Purse } from './database.ts';
import type { Executor } from './executor.ts';
import type { QuotaPolicyRow } from './quota-policy.repository.ts';
import type { BillingState } from '../domain/tariff.ts';

/** A dormitory purse with a per-occupant free quota policy, its campus's settings and its committed state (locked). */
export interface PerOccupantPurse {
  readonly dormitoryId: string;
  readonly purse: Purse;
  readonly policy: QuotaPolicyRow;
  readonly campusSettings: Record<string, unknown>;
  /** null: never billed nor granted. */
  readonly state: BillingState | null;
}

/**
 * Of these dormitories, each purse whose free quota policy is per occupant, with its billing
 * state locked until the transaction ends (a concurrent grant or top-up of the same purse waits).
 */
export async function perOccupantPurses(trx: Executor, dormitoryIds: readonly string[]): Promise<PerOccupantPurse[]> {
  const out: PerOccupantPurse[] = [];
  for (const ids of chunks([...new Set(dormitoryIds)].sort(), 5000)) {
    const rows = await trx
      .selectFrom('dormitories as d')
      .innerJoin('buildings as b', 'b.id', 'd.building_id')
      .innerJoin('campuses as c', 'c.id', 'b.campus_id')
      .innerJoin('free_quota_policies as q', (join) => join.on((eb) => eb.or([eb('q.id', '=', eb.ref('d.electricity_quota_id')), eb('q.id', '=', eb.ref('d.water_quota_id'))])))
      .select(['d.id as dormitory_id', 'd.electricity_quota_id', 'd.water_quota_id', 'c.settings', 'q.id', 'q.name', 'q.purse', 'q.allowance', 'q.basis', 'q.period'])
      .where('d.id', 'in', ids)
      .where('q.basis', '=', 'per-occupant')
      .orderBy('d.id')
      .execute();
    const wanted = rows.filter((r) => (r.purse === 'electricity' ? r.electricity_quota_id : r.water_quota_id) === r.id);
    if (wanted.length === 0) continue;
    const states = await trx
      .selectFrom('purse_billing_states')
      .select(['dormitory_id', 'purse', 'billing_state'])
      .where('dormitory_id', 'in', [...new Set(wanted.map((r) => r.dormitory_id))])
      .orderBy('dormitory_id')
      .orderBy('purse')
      .forUpdate()
      .execute();
    const stateOf = new Map(states.map((s) => [`${s.dormitory_id}|${s.purse}`, s.billing_state as BillingState]));
    for (const r of wanted) {
      out.push({
        dormitoryId: r.dormitory_id,
        purse: r.purse,
        policy: { id: r.id, name: r.name, purse: r.purse, allowance: r.allowance, basis: r.basis, period: r.period },
        campusSettings: r.settings,
        state: stateOf.get(`${r.dormitory_id}|${r.purse}`) ?? null,
      });
    }
  }
  return out;
}

/** The dormitories of these that have a per-occupant free quota policy on either purse. */
export async function dormitoriesWithPerOccupantQuota(db: Executor, dormitoryIds: readonly string[]): Promise<string[]> {
  const out: string[] = [];
  for (const ids of chunks([...new Set(dormitoryIds)], 5000)) {
    const rows = await db
      .selectFrom('dormitories as d')
      .innerJoin('free_quota_policies as q', (join) => join.on((eb) => eb.or([eb('q.id', '=', eb.ref('d.electricity_quota_id')), eb('q.id', '=', eb.ref('d.water_quota_id'))])))
      .select('d.id')
      .distinct()
      .where('d.id', 'in', ids)
      .where('q.basis', '=', 'per-occupant')
      .execute();
    out.push(...rows.map((r) => r.id));
  }
  return out;
}

/** A stay of a student: [fromDay, toDay), toDay null while it is open. */
export interface StayDays {
  readonly id: number;
  readonly studentId: string;
  readonly fromDay: string;
  readonly toDay: string | null;
}

/** These students' stays still open on `day` or later (open ones, and ones that ended on or after it). */
export async function staysSince(db: Executor, studentIds: readonly string[], day: string): Promise<StayDays[]> {
  const out: StayDays[] = [];
  for (const ids of chunks([...new Set(studentIds)], 5000)) {
    const rows = await db
      .selectFrom('occupancies')
      .select(['id', 'student_number', 'from_day', 'to_day'])
      .where('student_number', 'in', ids)
      .where((eb) => eb.or([eb('to_day', 'is', null), eb('to_day', '>=', day)]))
      .execute();
    out.push(...rows.map((r) => ({ id: r.id, studentId: r.student_number, fromDay: r.from_day, toDay: r.to_day })));
  }
  return out;
}

/** A late occupant's grant as the ledger holds it (`quota_grant` with `details.studentId`). */
export interface LateQuotaEntry {
  readonly dormitoryId: string;
  readonly purse: Purse;
  readonly studentId: string;
  readonly periodFrom: string;
  readonly units: number;
}

const STUDENT = sql<string>`details->>'studentId'`;
const PERIOD_FROM = sql<string>`(details->'period')->>'from'`;

/** The late occupants' grants of these students (any dormitory, any period). */
export function lateQuotaGrantsOfStudents(db: Executor, studentIds: readonly string[]): Promise<LateQuotaEntry[]> {
  return lateQuotaGrants(db, 'student', studentIds);
}

/** The late occupants' grants posted to these dormitories (read back with their purse states at boot or reload). */
export function lateQuotaGrantsOfDormitories(db: Executor, dormitoryIds: readonly string[]): Promise<LateQuotaEntry[]> {
  return lateQuotaGrants(db, 'dormitory', dormitoryIds);
}

async function lateQuotaGrants(db: Executor, by: 'student' | 'dormitory', keys: readonly string[]): Promise<LateQuotaEntry[]> {
  const out: LateQuotaEntry[] = [];
  for (const ids of chunks([...new Set(keys)], 5000)) {
    const rows = await db
      .selectFrom('ledger_entries')
      .select(['dormitory_id', 'purse', STUDENT.as('student_id'), PERIOD_FROM.as('period_from'), 'usage'])
      .where('kind', '=', 'quota_grant')
      .where(sql<boolean>`details ? 'studentId'`)
      .where(by === 'student' ? STUDENT : sql.ref('dormitory_id'), 'in', ids)
      .orderBy('id')
      .execute();
    out.push(...rows.map((r) => ({ dormitoryId: r.dormitory_id, purse: r.purse, studentId: r.student_id, periodFrom: r.period_from, units: Number(r.usage) })));
  }
  return out;
}

/** Writes a purse's billing state (inside the transaction that changed it). */
export async function savePurseState(trx: Executor, dormitoryId: string, purse: Purse, state: BillingState): Promise<void> {
  await trx
    .insertInto('purse_billing_states')
    .values({ dormitory_id: dormitoryId, purse, billing_state: JSON.stringify(state), updated_at: new Date() })
    .onConflict((oc) => oc.columns(['dormitory_id', 'purse']).doUpdateSet((eb) => ({ billing_state: eb.ref('excluded.billing_state'), updated_at: eb.ref('excluded.updated_at') })))
    .execute();
}
