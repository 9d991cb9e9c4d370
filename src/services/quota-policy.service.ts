import type { Kysely } from 'kysely';
import { appendAudit } from '../db/audit.repository.ts';
import type { Database, Purse } from '../db/database.ts';
import type { RuntimeFence } from '../db/runtime-lock.ts';
import { assignQuotaPolicy, dormitoriesWithPolicy, dormitoryQuotaRows, findQuotaPolicy, insertQuotaPolicy, type QuotaPolicyRow } from '../db/quota-policy.repository.ts';
import { quotaHoldingOf, type BillingState } from '../domain/tariff.ts';
import { selectDormitories, type DormitorySelector } from '../db/tariff.repository.ts';
import { DomainError } from '../errors.ts';
import type { QuotaIssueAudit } from '../actors/dormitory.actor.ts';
import type { Clock } from '../clock.ts';
import { openStaysInRooms } from '../db/late-quota.repository.ts';
import { grantCheckInsMissedByIssuance, type LateQuotaGrant } from './late-quota.service.ts';

/** What quota changes need of the running actors (CampusRuntime). */
export interface QuotaRuntime {
  reloadDormitory(id: string): Promise<boolean>;
  /** Grants the purse's current period to a running dormitory (undefined: it does not run); `audit` is written with the grant. */
  issueQuota(id: string, purse: Purse, occupants: number, operator: string, audit?: QuotaIssueAudit): Promise<{ granted: number; hasPolicy: boolean; state: BillingState | null } | undefined>;
  /** Waits until everything handed to the ledger is committed. */
  commitLedger(): Promise<void>;
  /** A late occupant's allowance was committed: the running dormitory adds it. */
  lateQuotaGranted(grant: LateQuotaGrant): void;
}

/** One dormitory's outcome of a batch issuance. */
export interface QuotaIssuance {
  readonly dormitoryId: string;
  /** Units granted now; 0 when this period was issued before (or the room has no one in it, per occupant). */
  readonly granted: number;
  readonly occupants: number;
  /** The period the purse's quota belongs to now (local days [from, until)), null when none was ever granted. */
  readonly period: { readonly from: string; readonly until: string } | null;
}

/** A purse's free quota as shown on the dormitory (and its bills). */
export interface PurseQuotaView {
  readonly policyId: string | null;
  /** The period the quota belongs to: local days [from, until); null when none was granted. */
  readonly period: { readonly from: string; readonly until: string } | null;
  readonly granted: number;
  readonly used: number;
  readonly remaining: number;
  /** What lapsed unused when that period ended. */
  readonly lapsed: number;
}

/** The quota view of a purse's billing state (granted, used, remaining, lapsed in its period). */
export function purseQuotaView(policyId: string | null, state: BillingState | null): PurseQuotaView {
  if (state === null) return { policyId, period: null, granted: 0, used: 0, remaining: 0, lapsed: 0 };
  const holding = quotaHoldingOf(state);
  const period = holding.quotaFrom === '' ? null : { from: holding.quotaFrom, until: holding.quotaUntil };
  return { policyId, period, granted: holding.freeGranted, used: Math.max(0, holding.freeGranted - holding.freeRemaining - holding.freeLapsed), remaining: holding.freeRemaining, lapsed: holding.freeLapsed };
}

export interface QuotaDeps {
  readonly db: Kysely<Database>;
  readonly runtime: QuotaRuntime;
  readonly clock: Clock;
  /** AppContext.fence: run first in the late grants' transaction (it moves quota). */
  readonly fence?: RuntimeFence | undefined;
}

export async function createQuotaPolicy(deps: QuotaDeps, policy: QuotaPolicyRow, operator: string): Promise<QuotaPolicyRow> {
  await deps.db.transaction().execute(async (trx) => {
    if (await findQuotaPolicy(trx, policy.id)) throw new DomainError('ALREADY_EXISTS', `quota policy ${policy.id} already exists`, 'id');
    await insertQuotaPolicy(trx, policy);
    await appendAudit(trx, { operator, action: 'quota_policy.create', targetType: 'quota_policy', targetId: policy.id, details: { ...policy } });
  });
  return policy;
}

/**
 * Gives a free quota policy to dormitories (a building, a floor or a list) for its purse.
 * Audited; the dormitories are rebuilt live, their pending charges committed first. The new
 * allowance is granted from the next month the purse is billed in (the current month's
 * remaining quota is kept as granted).
 */
export async function assignQuotaPolicyTo(deps: QuotaDeps, id: string, selector: DormitorySelector, operator: string): Promise<{ policyId: string; purse: Purse; dormitoryIds: string[] }> {
  const { purse, dormitoryIds } = await deps.db.transaction().execute(async (trx) => {
    const policy = await findQuotaPolicy(trx, id);
    if (!policy) throw new DomainError('NOT_FOUND', `quota policy ${id} does not exist`, 'id');
    const ids = await selectDormitories(trx, selector);
    if ('dormitoryIds' in selector) {
      const missing = [...new Set(selector.dormitoryIds)].filter((d) => !ids.includes(d));
      if (missing.length) throw new DomainError('DORMITORY_NOT_FOUND', `dormitories do not exist: ${missing.slice(0, 10).join(', ')}`, 'dormitoryIds');
    }
    if (ids.length === 0) throw new DomainError('DORMITORY_NOT_FOUND', 'no dormitory matches the assignment', 'building');
    await assignQuotaPolicy(trx, id, policy.purse, ids);
    await appendAudit(trx, { operator, action: 'quota_policy.assign', targetType: 'quota_policy', targetId: id, details: { purse: policy.purse, selector, dormitories: ids.length } });
    return { purse: policy.purse, dormitoryIds: ids };
  });
  for (const dormitoryId of dormitoryIds) await deps.runtime.reloadDormitory(dormitoryId);
  return { policyId: id, purse, dormitoryIds };
}

/**
 * Batch issuance: grants the policy's current period now to the dormitories of the scope that
 * have this policy for its purse (per occupant: the occupants present now), idempotent per
 * period (a purse already granted this period gets nothing more). Each grant is a `quota_grant`
 * ledger entry committed with the purse's state before the answer, and its `quota_policy.issue`
 * audit row (the room, the units, the period) in the same transaction: a grant never exists
 * without its audit. The run as a whole (scope and outcome) is `quota_policy.issue_run`, after.
 */
export async function issueQuotaTo(deps: QuotaDeps, id: string, selector: DormitorySelector, operator: string): Promise<{ policyId: string; purse: Purse; issued: QuotaIssuance[]; notAssigned: string[]; notRunning: string[] }> {
  const policy = await findQuotaPolicy(deps.db, id);
  if (!policy) throw new DomainError('NOT_FOUND', `quota policy ${id} does not exist`, 'id');
  const inScope = await selectDormitories(deps.db, selector);
  if ('dormitoryIds' in selector) {
    const missing = [...new Set(selector.dormitoryIds)].filter((d) => !inScope.includes(d));
    if (missing.length) throw new DomainError('DORMITORY_NOT_FOUND', `dormitories do not exist: ${missing.slice(0, 10).join(', ')}`, 'dormitoryIds');
  }
  if (inScope.length === 0) throw new DomainError('DORMITORY_NOT_FOUND', 'no dormitory matches the scope', 'building');
  const assigned = await dormitoriesWithPolicy(deps.db, id, policy.purse, inScope);
  const staysOf = new Map<string, Set<number>>();
  for (const s of await openStaysInRooms(deps.db, assigned)) staysOf.set(s.dormitoryId, (staysOf.get(s.dormitoryId) ?? new Set()).add(s.id));
  const issued: QuotaIssuance[] = [];
  const notRunning: string[] = [];
  const counted = new Map<string, Set<number>>();
  for (const dormitoryId of assigned) {
    const stays = staysOf.get(dormitoryId) ?? new Set<number>();
    const count = stays.size;
    const result = await deps.runtime.issueQuota(dormitoryId, policy.purse, count, operator, { action: 'quota_policy.issue', targetType: 'quota_policy', targetId: id, details: { selector, occupants: count } });
    if (!result) {
      notRunning.push(dormitoryId);
      continue;
    }
    issued.push({ dormitoryId, granted: result.granted, occupants: count, period: purseQuotaView(id, result.state).period });
    if (result.granted > 0 && policy.basis === 'per-occupant') counted.set(dormitoryId, stays);
  }
  await deps.runtime.commitLedger();
  // A check-in that committed after the count but read the purse before this grant: neither counted it.
  const missed = await deps.db.transaction().execute(async (trx) => {
    await deps.fence?.(trx);
    return grantCheckInsMissedByIssuance(trx, deps.clock.now(), counted, operator);
  });
  for (const grant of missed) deps.runtime.lateQuotaGranted(grant);
  const notAssigned = inScope.filter((d) => !assigned.includes(d));
  const granted = issued.filter((i) => i.granted > 0);
  await appendAudit(deps.db, {
    operator,
    action: 'quota_policy.issue_run',
    targetType: 'quota_policy',
    targetId: id,
    details: { purse: policy.purse, selector, granted: granted.length, units: granted.reduce((sum, i) => sum + i.granted, 0), alreadyIssued: issued.length - granted.length, notAssigned: notAssigned.length, notRunning },
  });
  return { policyId: id, purse: policy.purse, issued, notAssigned, notRunning };
}

/**
 * A dormitory's free quota per purse for GET /api/dormitories/:id (and the bills): from the
 * running dormitory's states when given (charges not yet posted included), else as committed.
 */
export async function dormitoryQuota(db: Kysely<Database>, dormitoryId: string, live: { electricity: BillingState | null; water: BillingState | null } | undefined): Promise<Record<Purse, PurseQuotaView> | undefined> {
  const rows = await dormitoryQuotaRows(db, dormitoryId);
  if (!rows) return undefined;
  const states = live ?? rows.states;
  return { electricity: purseQuotaView(rows.policies.electricity, states.electricity), water: purseQuotaView(rows.policies.water, states.water) };
}
