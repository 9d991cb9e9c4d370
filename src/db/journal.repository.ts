import { sql, type Expression, type SqlBool } from 'kysely';
import type { Purse } from './database.ts';
import type { Executor } from './executor.ts';

/**
 * Journals (docs/reports.md): the money movements of one kind and the alarm history, each in
 * time order, read a keyset page at a time. A range is one window per campus (its own local
 * days), so a row is in the journal when its time falls in its own campus's window.
 */

/** A campus's [from, to) in UTC. */
export interface CampusWindow {
  readonly campusId: string;
  readonly from: Date;
  readonly to: Date;
}

/** The keyset of a journal: time, then id (both ascending). */
export interface JournalKey {
  readonly at: string;
  readonly id: number;
}

const iso = (at: Date | string): string => new Date(at).toISOString();

/** `at` inside its campus's window (`campus` the row's campus column). */
function inWindows(windows: readonly CampusWindow[], campus: string, at: string): Expression<SqlBool> {
  if (windows.length === 0) return sql<SqlBool>`false`;
  return sql<SqlBool>`(${sql.join(windows.map((w) => sql`(${sql.ref(campus)} = ${w.campusId} and ${sql.ref(at)} >= ${w.from} and ${sql.ref(at)} < ${w.to})`), sql` or `)})`;
}

const afterKey = (at: string, id: string, key: JournalKey) => sql<SqlBool>`(${sql.ref(at)}, ${sql.ref(id)}) > (${new Date(key.at)}, ${key.id})`;

/** The payment channel of a recharge entry, as the reconciliation names it (`channelOf`). */
const CHANNEL = sql<string>`coalesce('online:' || (l.details->>'provider'), l.details->>'method', 'unknown')`;

export type MoneyJournalKind = 'recharge' | 'refund' | 'adjustment';

export interface MoneyJournalRow {
  readonly entryId: number;
  readonly occurredAt: string;
  readonly campusId: string;
  readonly buildingId: string;
  readonly dormitoryId: string;
  readonly purse: Purse;
  /** As posted on the ledger: a recharge positive, a refund negative, an adjustment signed. */
  readonly amountFen: number;
  readonly balanceAfterFen: number;
  readonly reference: string | null;
  readonly operator: string | null;
  /** A recharge's channel (`cash`, `card`, `campus_card`, `online`, `online:<provider>`); null otherwise. */
  readonly channel: string | null;
  /** A refund's or adjustment's reason; null for a recharge. */
  readonly reason: string | null;
  /** The second finance user who approved it, when one had to. */
  readonly approvedBy: string | null;
  /** Who paid: a recharge's paying student; a check-out refund's leaving student. */
  readonly studentId: string | null;
  /** `office` (a recharge, refund or adjustment entered by staff), `online` (a provider's payment) or `check_out` (a settlement refund). */
  readonly source: 'office' | 'online' | 'check_out';
}

export interface MoneyJournalFilter {
  readonly kind: MoneyJournalKind;
  readonly windows: readonly CampusWindow[];
  readonly channel?: string | undefined;
  readonly purse?: Purse | undefined;
  readonly buildingId?: string | undefined;
  readonly dormitoryId?: string | undefined;
}

/** One page of a money journal after `after`, oldest first. */
export async function moneyJournalPage(db: Executor, filter: MoneyJournalFilter, after: JournalKey | null, limit: number): Promise<MoneyJournalRow[]> {
  let q = db
    .selectFrom('ledger_entries as l')
    .innerJoin('dormitories as d', 'd.id', 'l.dormitory_id')
    .innerJoin('buildings as b', 'b.id', 'd.building_id')
    .where('l.kind', '=', filter.kind)
    .where(inWindows(filter.windows, 'b.campus_id', 'l.occurred_at'))
    .select([
      'l.id',
      'l.occurred_at',
      'b.campus_id',
      'b.id as building_id',
      'l.dormitory_id',
      'l.purse',
      'l.amount',
      'l.balance_after',
      'l.reference',
      'l.operator',
      CHANNEL.as('channel'),
      sql<string | null>`l.details->>'reason'`.as('reason'),
      sql<string | null>`l.details->>'approvedBy'`.as('approved_by'),
      sql<string | null>`coalesce(l.details->>'payerStudentId', l.details->>'studentId')`.as('student_id'),
      sql<string | null>`l.details->>'provider'`.as('provider'),
      sql<string | null>`l.details->>'settlementId'`.as('settlement_id'),
    ]);
  if (filter.channel !== undefined) q = q.where(CHANNEL, '=', filter.channel);
  if (filter.purse !== undefined) q = q.where('l.purse', '=', filter.purse);
  if (filter.buildingId !== undefined) q = q.where('b.id', '=', filter.buildingId);
  if (filter.dormitoryId !== undefined) q = q.where('l.dormitory_id', '=', filter.dormitoryId);
  if (after !== null) q = q.where(afterKey('l.occurred_at', 'l.id', after));
  const rows = await q.orderBy('l.occurred_at').orderBy('l.id').limit(limit).execute();
  return rows.map((r) => ({
    entryId: r.id,
    occurredAt: iso(r.occurred_at),
    campusId: r.campus_id,
    buildingId: r.building_id,
    dormitoryId: r.dormitory_id,
    purse: r.purse,
    amountFen: r.amount,
    balanceAfterFen: r.balance_after,
    reference: r.reference,
    operator: r.operator,
    channel: filter.kind === 'recharge' ? r.channel : null,
    reason: r.reason,
    approvedBy: r.approved_by,
    studentId: r.student_id,
    source: r.provider !== null ? 'online' : r.settlement_id !== null ? 'check_out' : 'office',
  }));
}

export interface AlarmJournalRow {
  readonly alarmId: number;
  readonly raisedAt: string;
  readonly campusId: string;
  readonly kind: string;
  readonly severity: string;
  readonly state: 'active' | 'released' | 'cleared';
  readonly dormitoryId: string | null;
  readonly meterId: string | null;
  readonly gatewayId: string | null;
  readonly circuit: string | null;
  /** Why it was raised (the rule's words). */
  readonly message: string;
  readonly acknowledgedAt: string | null;
  readonly acknowledgedBy: string | null;
  /** Released by an operator: when, who and why (the reason kept by the release's audit record). */
  readonly releasedAt: string | null;
  readonly releasedBy: string | null;
  readonly releaseReason: string | null;
}

export interface AlarmJournalFilter {
  readonly windows: readonly CampusWindow[];
  readonly kind?: string | undefined;
  readonly state?: AlarmJournalRow['state'] | undefined;
  readonly dormitoryId?: string | undefined;
}

/** One page of alarms raised in the windows after `after`, oldest first. An alarm's campus: its dormitory's, else its gateway's. */
export async function alarmJournalPage(db: Executor, filter: AlarmJournalFilter, after: JournalKey | null, limit: number): Promise<AlarmJournalRow[]> {
  const placed = db
    .selectFrom('alarms as a')
    .leftJoin('dormitories as d', 'd.id', 'a.dormitory_id')
    .leftJoin('buildings as b', 'b.id', 'd.building_id')
    .leftJoin('gateways as g', 'g.id', 'a.gateway_id')
    .selectAll('a')
    .select(sql<string>`coalesce(b.campus_id, g.campus_id)`.as('campus_id'))
    .as('p');
  let q = db
    .selectFrom(placed)
    .selectAll('p')
    .select(
      sql<string | null>`(select x.details->>'reason' from audit_log x where x.target_type = 'alarm' and x.target_id = cast(p.id as text) and x.action = 'alarm.release' order by x.id desc limit 1)`.as('release_reason'),
    )
    .where(inWindows(filter.windows, 'p.campus_id', 'p.raised_at'));
  if (filter.kind !== undefined) q = q.where('p.kind', '=', filter.kind);
  if (filter.state !== undefined) q = q.where('p.state', '=', filter.state);
  if (filter.dormitoryId !== undefined) q = q.where('p.dormitory_id', '=', filter.dormitoryId);
  if (after !== null) q = q.where(afterKey('p.raised_at', 'p.id', after));
  const rows = await q.orderBy('p.raised_at').orderBy('p.id').limit(limit).execute();
  return rows.map((r) => ({
    alarmId: r.id,
    raisedAt: iso(r.raised_at),
    campusId: r.campus_id,
    kind: r.kind,
    severity: r.severity,
    state: r.state,
    dormitoryId: r.dormitory_id,
    meterId: r.meter_id,
    gatewayId: r.gateway_id,
    circuit: r.circuit,
    message: r.message,
    acknowledgedAt: r.acknowledged_at === null ? null : iso(r.acknowledged_at),
    acknowledgedBy: r.acknowledged_by,
    releasedAt: r.released_at === null ? null : iso(r.released_at),
    releasedBy: r.released_by,
    releaseReason: r.release_reason,
  }));
}
