import { sql, type SqlBool } from 'kysely';
import type { Executor } from './executor.ts';

export interface AuditRecord {
  readonly operator: string;
  readonly action: string;
  readonly targetType: string;
  readonly targetId: string;
  readonly details?: Record<string, unknown>;
}

export async function appendAudit(db: Executor, records: AuditRecord | readonly AuditRecord[]): Promise<void> {
  const list = Array.isArray(records) ? records : [records as AuditRecord];
  if (list.length === 0) return;
  await db
    .insertInto('audit_log')
    .values(
      list.map((r) => ({
        operator: r.operator,
        action: r.action,
        target_type: r.targetType,
        target_id: r.targetId,
        details: JSON.stringify(r.details ?? {}),
      })),
    )
    .execute();
}

export async function listAudit(db: Executor, targetType: string, targetId: string, limit = 100) {
  return db
    .selectFrom('audit_log')
    .selectAll()
    .where('target_type', '=', targetType)
    .where('target_id', '=', targetId)
    .orderBy('id', 'desc')
    .limit(limit)
    .execute();
}

/** One record of the audit list (docs/reports.md). */
export interface AuditEntry {
  readonly id: number;
  readonly occurredAt: string;
  readonly actor: string;
  readonly action: string;
  readonly targetType: string;
  readonly targetId: string;
  readonly details: Record<string, unknown>;
}

export interface AuditFilter {
  readonly actor?: string | undefined;
  /** An action, or a prefix when it ends with `*` (`alarm.*`). */
  readonly action?: string | undefined;
  /** The dormitory itself, or a meter, circuit or alarm of it. */
  readonly dormitoryId?: string | undefined;
  readonly from?: Date | undefined;
  readonly to?: Date | undefined;
}

const likePrefix = (prefix: string) => `${prefix.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;

/** One page of the audit log, newest first, before the record `before` (an id). */
export async function auditPage(db: Executor, filter: AuditFilter, before: number | null, limit: number): Promise<AuditEntry[]> {
  let q = db.selectFrom('audit_log as a').selectAll('a');
  if (filter.actor !== undefined) q = q.where('a.operator', '=', filter.actor);
  if (filter.action !== undefined) {
    q = filter.action.endsWith('*') ? q.where(sql<SqlBool>`a.action like ${likePrefix(filter.action.slice(0, -1))} escape '\\'`) : q.where('a.action', '=', filter.action);
  }
  if (filter.dormitoryId !== undefined) {
    const id = filter.dormitoryId;
    q = q.where((eb) =>
      eb.or([
        eb.and([eb('a.target_type', '=', 'dormitory'), eb('a.target_id', '=', id)]),
        eb.and([eb('a.target_type', '=', 'meter'), eb('a.target_id', 'in', eb.selectFrom('meters').select('meters.id').where('meters.dormitory_id', '=', id))]),
        eb.and([eb('a.target_type', '=', 'circuit'), eb('a.target_id', 'in', eb.selectFrom('circuits').innerJoin('meters', 'meters.id', 'circuits.meter_id').select('circuits.id').where('meters.dormitory_id', '=', id))]),
        eb.and([eb('a.target_type', '=', 'alarm'), eb('a.target_id', 'in', eb.selectFrom('alarms').select(sql<string>`cast(alarms.id as text)`.as('id')).where('alarms.dormitory_id', '=', id))]),
      ]),
    );
  }
  if (filter.from !== undefined) q = q.where('a.occurred_at', '>=', filter.from);
  if (filter.to !== undefined) q = q.where('a.occurred_at', '<', filter.to);
  if (before !== null) q = q.where('a.id', '<', before);
  const rows = await q.orderBy('a.id', 'desc').limit(limit).execute();
  return rows.map((r) => ({ id: r.id, occurredAt: new Date(r.occurred_at).toISOString(), actor: r.operator, action: r.action, targetType: r.target_type, targetId: r.target_id, details: r.details }));
}
