import { appendAudit, type AuditRecord } from '../db/audit.repository.ts';
import type { Kysely } from 'kysely';
import type { Clock } from '../clock.ts';
import type { Database, Purse } from '../db/database.ts';
import type { Executor } from '../db/executor.ts';
import type { RuntimeFence } from '../db/runtime-lock.ts';
import { appendPostings, type LedgerPosting } from '../db/ledger.repository.ts';
import { dormitoriesWithPerOccupantQuota, lateQuotaGrantsOfStudents, openStaysInRooms, perOccupantPurses, savePurseState, staysSince, type OpenStay, type StayDays } from '../db/late-quota.repository.ts';
import { lockRoomsInOrder, type RoomForOccupancy } from '../db/occupancy.repository.ts';
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
    const period = quotaPeriodAt(quotaPolicyOf(p.policy, p.campusSettings, []), toLocalTime(now, zoneOf.get(p.dormitoryId)!));
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

/**
 * After a batch issuance granted these rooms their period with the occupants it counted (their
 * stays' ids), the students whose check-in committed meanwhile: counted by the issuance they were
 * not, and their check-in read the purse before it held the period, so it granted them nothing.
 * Locks the rooms (a check-in still running ends first; one after this reads the period and
 * grants itself) and grants each such open stay its late share (grantLateQuota: once per student
 * and period, nothing for an exchange). The caller tells the running dormitories after the commit.
 */
export async function grantCheckInsMissedByIssuance(trx: Executor, now: number, counted: ReadonlyMap<string, ReadonlySet<number>>, operator: string): Promise<LateQuotaGrant[]> {
  if (counted.size === 0) return [];
  const rooms = await lockRoomsInOrder(trx, [...counted.keys()]);
  const missed = (await openStaysInRooms(trx, [...counted.keys()])).filter((s) => !counted.get(s.dormitoryId)?.has(s.id));
  return grantMissedStays(trx, now, rooms, missed, operator);
}

/** What settling the occupants a grant missed needs: the database, the clock, and the running dormitories. */
export interface MissedOccupantsDeps {
  readonly db: Kysely<Database>;
  readonly clock: Clock;
  /** Commits the rooms' pending billing (a period granted at a first usage, still in memory). */
  readonly flushBilling: (dormitoryIds: readonly string[]) => Promise<void>;
  /** A late grant committed: the running dormitory adds it to its purse. */
  readonly quotaGranted: (grant: LateQuotaGrant) => void;
  /** AppContext.fence: run first in the grant's transaction (it moves quota). */
  readonly fence?: RuntimeFence | undefined;
}

/**
 * After the occupants of these rooms changed and their running dormitories were told (who lives
 * there now): a per-occupant period granted at a first usage counts the stays the dormitory actor
 * knew of, and a check-in that committed meanwhile read the purse before it held the period (so it
 * granted nothing). Commits the rooms' pending billing, then grants each open stay that the grant
 * of the period held did not count (`quotaCounted` of the committed state) its late share
 * (grantOccupantsMissedByGrant). Whichever commits first, the student is counted once.
 */
export async function settleOccupantsMissedByGrants(deps: MissedOccupantsDeps, dormitoryIds: readonly string[]): Promise<LateQuotaGrant[]> {
  const rooms = await dormitoriesWithPerOccupantQuota(deps.db, dormitoryIds);
  if (rooms.length === 0) return [];
  await deps.flushBilling(rooms);
  const grants = await deps.db.transaction().execute(async (trx) => {
    await deps.fence?.(trx);
    return grantOccupantsMissedByGrant(trx, deps.clock.now(), rooms, 'system');
  });
  for (const g of grants) deps.quotaGranted(g);
  return grants;
}

/**
 * The open stays of these rooms that the per-occupant grant of the period their purse holds did
 * not count (the stays it counted are the state's `quotaCounted` for that period; a state without
 * it, e.g. an issuance's grant, is left alone: the issuance settles its own), each granted its late
 * share by grantLateQuota (once per student and period, nothing for an exchange). Locks the rooms
 * first (a check-in still running ends first; one after this reads the period and grants itself).
 */
export async function grantOccupantsMissedByGrant(trx: Executor, now: number, dormitoryIds: readonly string[], operator: string): Promise<LateQuotaGrant[]> {
  const rooms = await lockRoomsInOrder(trx, dormitoryIds);
  const counted = new Map<string, Set<number>>();
  for (const p of await perOccupantPurses(trx, [...rooms.keys()])) {
    const recorded = p.state?.quotaCounted;
    if (!p.state || !recorded || recorded.from !== quotaHoldingOf(p.state).quotaFrom) continue;
    counted.set(p.dormitoryId, new Set([...(counted.get(p.dormitoryId) ?? []), ...recorded.occupancies]));
  }
  if (counted.size === 0) return [];
  const missed = (await openStaysInRooms(trx, [...counted.keys()])).filter((s) => !counted.get(s.dormitoryId)!.has(s.id));
  return grantMissedStays(trx, now, rooms, missed, operator);
}

/** These open stays of locked rooms, each granted its late share (grantLateQuota). */
function grantMissedStays(trx: Executor, now: number, rooms: ReadonlyMap<string, RoomForOccupancy>, missed: readonly OpenStay[], operator: string): Promise<LateQuotaGrant[]> {
  return grantLateQuota(
    trx,
    now,
    missed.flatMap((s) => {
      const room = rooms.get(s.dormitoryId);
      return room ? [{ occupancyId: s.id, studentId: s.studentId, dormitoryId: s.dormitoryId, fromDay: s.fromDay, zone: room.zone }] : [];
    }),
    operator,
  );
}
