import type { Clock } from '../clock.ts';
import { MS_PER_DAY } from '../domain/local-time.ts';
import { DomainError } from '../errors.ts';

/** An ISO 8601 instant of a report's query, or the fallback when it is absent; a 400 naming the field otherwise. */
export function reportInstant(value: string | undefined, fallback: number, field: string): number {
  if (value === undefined) return fallback;
  const at = Date.parse(value);
  if (!Number.isFinite(at) || at < 0) throw new DomainError('VALIDATION_FAILED', `${field} must be an ISO 8601 date-time`, field);
  return at;
}

/**
 * A report's [from, to): `to` defaults to now on the injected clock, `from` to `to` minus
 * `defaultSpanMs`; longer than `maxSpanMs` (when given) is a 400 naming `from`.
 */
export function reportRange(query: { readonly from?: string | undefined; readonly to?: string | undefined }, clock: Clock, defaultSpanMs: number, maxSpanMs?: number): { from: number; to: number } {
  const to = reportInstant(query.to, clock.now(), 'to');
  const from = reportInstant(query.from, to - defaultSpanMs, 'from');
  if (to <= from) throw new DomainError('VALIDATION_FAILED', 'to must be after from', 'to');
  if (maxSpanMs !== undefined && to - from > maxSpanMs) throw new DomainError('VALIDATION_FAILED', `the range may cover at most ${maxSpanMs / MS_PER_DAY} days: from is too early for this to`, 'from');
  return { from, to };
}
