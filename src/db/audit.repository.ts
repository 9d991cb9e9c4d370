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
