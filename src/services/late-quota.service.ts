import { appendAudit, type AuditRecord } from '../db/audit.repository.ts';
import type { Purse } from '../db/database.ts';
import type { Executor } from '../db/executor.ts';
import { appendPostings, type LedgerPosting } from '../db/ledger.repository.ts';
import { dormitoriesWithPerOccupantQuota, lateQuotaGrantsOfStudents, perOccupantPurses, savePurseState, staysSince, type StayDays } from '../db/late-quota.repository.ts';
import { quotaPolicyOf } from '../db/quota-policy.repository.ts';
import { toLocalTime, type TimeZone } from '../domain/local-time.ts';
import { proRataAllowance, quotaPeriodAt } from '../domain/quota.ts';
import { applyQuotaTopUp, quotaHoldingOf, type BillingState, type QuotaTopUp } from '../domain/tariff.ts';

/** A stay just opened by a check-in (single, or a file's row), with its room's zone. */
export interface NewStay {
  readonly occupancyId: number;
  readonly studentId: string;
  readonly dormitoryId: string;
  readonly fromDay: string;
  readonly zone: TimeZone;
}

/** A late occupant's pro rata allowance granted to a dormitory's purse (the live actor adds it too). */
export interface LateQuotaGrant extends QuotaTopUp {
  readonly dormitoryId: string;
  readonly purse: Purse;
}

/**
 * The rooms among these whose pending billing a check-in must commit first: those with a
 * per-occupant quota (a late occupant's allowance reads the purse's committed quota). Others
 * are not flushed, so a check-in elsewhere never waits for the ledger.
 */
export function roomsToFlushBeforeCheckIn(db: Executor, dormitoryIds: readonly string[]): Promise<string[]> {
  return dormitoriesWithPerOccupantQuota(db, dormitoryIds);
}

/**
 * Late check-in, pro rata (docs/billing.md, "A late occupant"): a student who moves into a room
 * whose per-occupant policy already granted the current period (the purse holds that period) was
 * not counted in that grant; they get `allowance x days left / days of the period` (from their
 * stay's first day, that day included; local calendar days of the campus's zone; rounded down),
 * added to the purse's quota of the period. Nothing for a per-dormitory policy, a period not
 * yet granted (its grant will count them), a student who had any other stay open on or after
 * the period's first day (an exchange, a swap, a return: what was granted for them stays with
 * the room they lived in), or one already granted this period (a retry; the database also holds
 * one per student, purse and period). Each grant is a `quota_grant` ledger entry
 * (`details.studentId`, `details.period`), the purse's state and a `quota_policy.late_grant` audit
 * row, all in the caller's transaction; the running dormitory learns it after the commit.
 */
export async function grantLateQuota(trx: Executor, now: number, stays: readonly NewStay[], operator: string): Promise<LateQuotaGrant[]> {
  if (stays.length === 0) return [];
  const purses = await perOccupantPurses(trx, stays.map((s) => s.dormitoryId));
  if (purses.length === 0) return [];
  const zoneOf = new Map(stays.map((s) => [s.dormitoryId, s.zone]));
  // The purses that hold the period the policy is in now: its grant was issued, without these students.
  const issued = purses.flatMap((p) => {
    if (!p.state) return [];
    const period = quotaPeriodAt(quotaPolicyOf(p.policy, p.campusSettings, 0), toLocalTime(now, zoneOf.get(p.dormitoryId)!));
    const holding = quotaHoldingOf(p.state);
    return period && holding.quotaFrom === period.from && holding.quotaUntil === period.until ? [{ ...p, state: p.state, period }] : [];
  });
  if (issued.length === 0) return [];
  const pursesOf = new Map<string, typeof issued>();
  for (const p of issued) pursesOf.set(p.dormitoryId, [...(pursesOf.get(p.dormitoryId) ?? []), p]);
  const arriving = stays.filter((s) => pursesOf.has(s.dormitoryId));
  const earliest = issued.reduce((min, p) => (p.period.from < min ? p.period.from : min), issued[0]!.period.from);
  const students = arriving.map((s) => s.studentId);
  const staysOf = new Map<string, StayDays[]>();
  for (const o of await staysSince(trx, students, earliest)) staysOf.set(o.studentId, [...(staysOf.get(o.studentId) ?? []), o]);
  const granted = new Set((await lateQuotaGrantsOfStudents(trx, students)).map((g) => `${g.studentId}|${g.purse}|${g.periodFrom}`));

  const grants: LateQuotaGrant[] = [];
  const postings: LedgerPosting[] = [];
  const audits: AuditRecord[] = [];
  const states = new Map<string, BillingState>();
  for (const stay of arriving) {
    for (const p of pursesOf.get(stay.dormitoryId) ?? []) {
      const { period } = p;
      const livedHere = (staysOf.get(stay.studentId) ?? []).some((o) => o.id !== stay.occupancyId && o.fromDay < period.until && (o.toDay === null || o.toDay >= period.from));
      if (livedHere || granted.has(`${stay.studentId}|${p.purse}|${period.from}`)) continue;
      const units = proRataAllowance(p.policy.allowance, period, stay.fromDay);
      const key = `${p.dormitoryId}|${p.purse}`;
      const next = applyQuotaTopUp(states.get(key) ?? p.state, { studentId: stay.studentId, periodFrom: period.from, units });
      if (!next) continue;
      states.set(key, next);
      const grant = { dormitoryId: p.dormitoryId, purse: p.purse, studentId: stay.studentId, periodFrom: period.from, units };
      grants.push(grant);
      const details = { studentId: stay.studentId, occupancyId: stay.occupancyId, policyId: p.policy.id, allowance: p.policy.allowance, from: stay.fromDay, period: { from: period.from, until: period.until } };
      postings.push({ dormitoryId: p.dormitoryId, purse: p.purse, kind: 'quota_grant', amount: 0, usage: units, meterId: null, operator, occurredAt: new Date(now), details: { note: 'free quota of a late occupant, pro rata', ...details } });
      audits.push({ operator, action: 'quota_policy.late_grant', targetType: 'dormitory', targetId: p.dormitoryId, details: { ...details, purse: p.purse, granted: units } });
    }
  }
  if (grants.length === 0) return [];
  await appendPostings(trx, postings);
  for (const [key, state] of states) {
    const [dormitoryId, purse] = key.split('|') as [string, Purse];
    await savePurseState(trx, dormitoryId, purse, state);
  }
  await appendAudit(trx, audits);
  return grants;
}
