import { auditPage, type AuditEntry } from '../db/audit.repository.ts';
import type { Executor } from '../db/executor.ts';
import { DomainError } from '../errors.ts';
import { decodeCursor, keysetPage, type ReportPage } from './report-pages.ts';
import { reportInstant } from './report-range.ts';

export interface AuditQuery {
  readonly actor?: string | undefined;
  readonly action?: string | undefined;
  readonly dormitory?: string | undefined;
  readonly from?: string | undefined;
  readonly to?: string | undefined;
  readonly cursor?: string | undefined;
  readonly limit?: number | undefined;
}

const isAuditKey = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) > 0;

/**
 * The audit log (docs/reports.md), newest first, one keyset page: who did what to what, by
 * actor, action (or an action prefix `alarm.*`), dormitory and [from, to). A bad filter is a
 * 400 naming it.
 */
export async function auditLog(db: Executor, query: AuditQuery): Promise<ReportPage<AuditEntry>> {
  const from = query.from === undefined ? undefined : reportInstant(query.from, 0, 'from');
  const to = query.to === undefined ? undefined : reportInstant(query.to, 0, 'to');
  if (from !== undefined && to !== undefined && to <= from) throw new DomainError('VALIDATION_FAILED', 'to must be after from', 'to');
  if (query.action !== undefined && query.action.indexOf('*') !== -1 && query.action.indexOf('*') !== query.action.length - 1) {
    throw new DomainError('VALIDATION_FAILED', 'action may end with one * (a prefix), nowhere else', 'action');
  }
  const filter = { actor: query.actor, action: query.action, dormitoryId: query.dormitory, from: from === undefined ? undefined : new Date(from), to: to === undefined ? undefined : new Date(to) };
  const before = decodeCursor(query.cursor, isAuditKey, 'cursor');
  return keysetPage((after: number | null, limit: number) => auditPage(db, filter, after, limit), before, query.limit ?? 100, (r) => r.id);
}
