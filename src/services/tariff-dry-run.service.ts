import type { Clock } from '../clock.ts';
import type { Purse } from '../db/database.ts';
import type { Executor } from '../db/executor.ts';
import { dormitoryIntervals, dormitoryPricingContexts } from '../db/interval.repository.ts';
import { dormitoriesUsingTariff, findTariff, scheduleOf, selectDormitories, type DormitorySelector } from '../db/tariff.repository.ts';
import { singleVersion } from '../domain/gap-pricing.ts';
import { localMonthStart, openingState, priceIntervals } from '../domain/tariff-dry-run.ts';
import { DomainError } from '../errors.ts';
import { checkedDefinition } from './tariff.service.ts';

const MAX_SPAN_MS = 366 * 86_400_000;

export interface DryRunLine {
  readonly dormitoryId: string;
  readonly usage: number;
  readonly oldCharge: number;
  readonly newCharge: number;
  readonly difference: number;
}

export interface DryRunReport {
  readonly tariffId: string;
  readonly purse: Purse;
  readonly from: string;
  readonly to: string;
  readonly dormitories: readonly DryRunLine[];
  readonly total: Omit<DryRunLine, 'dormitoryId'>;
}

/**
 * The tariff dry-run: re-prices the recorded interval readings of [from, to) of the dormitories
 * in scope (default: those the tariff prices) under the tariff as it stands (its versions, each
 * from its date) and under the draft, with each room's free quota and tier position, and answers
 * per dormitory and in total. Reads only: nothing is billed, nothing is written.
 */
export async function dryRunTariff(
  db: Executor,
  clock: Clock,
  id: string,
  input: { definition: unknown; from: string; to?: string | undefined; scope?: DormitorySelector | undefined },
): Promise<DryRunReport> {
  const draft = checkedDefinition(input.definition);
  const from = Date.parse(input.from);
  const to = input.to === undefined ? clock.now() : Date.parse(input.to);
  if (!Number.isFinite(from)) throw new DomainError('VALIDATION_FAILED', 'from must be an ISO 8601 date-time', 'from');
  if (!Number.isFinite(to) || to <= from) throw new DomainError('VALIDATION_FAILED', 'to must be a date-time after from', 'to');
  if (to - from > MAX_SPAN_MS) throw new DomainError('VALIDATION_FAILED', 'a dry-run covers at most 366 days', 'to');
  const stored = await findTariff(db, id);
  if (!stored) throw new DomainError('NOT_FOUND', `tariff ${id} does not exist`, 'id');
  const current = scheduleOf(stored);
  if (!current.ok) throw new DomainError('TARIFF_INVALID', current.problem, 'id');
  const ids = input.scope ? await selectDormitories(db, input.scope) : await dormitoriesUsingTariff(db, id);
  if (input.scope && 'dormitoryIds' in input.scope) {
    const missing = input.scope.dormitoryIds.filter((d) => !ids.includes(d));
    if (missing.length) throw new DomainError('DORMITORY_NOT_FOUND', `dormitories do not exist: ${missing.slice(0, 10).join(', ')}`, 'scope.dormitoryIds');
  }
  const contexts = await dormitoryPricingContexts(db, ids, stored.purse);
  const earliest = Math.min(from, ...contexts.map((c) => localMonthStart(from, c.zone)));
  const intervals = await dormitoryIntervals(db, ids, stored.purse, new Date(earliest), new Date(to));
  const draftSchedule = singleVersion(draft, id);
  const lines: DryRunLine[] = contexts.map((context) => {
    const all = intervals.get(context.dormitoryId) ?? [];
    const monthStart = localMonthStart(from, context.zone);
    const earlier = all.filter((i) => i.start >= monthStart && i.start < from).reduce((sum, i) => sum + i.usage, 0);
    const inPeriod = all.filter((i) => i.start >= from);
    const opening = openingState(from, earlier, context.quota, context.zone);
    const oldCharge = priceIntervals(inPeriod, current.schedule, context.quota, opening, context.zone);
    const newCharge = priceIntervals(inPeriod, draftSchedule, context.quota, opening, context.zone);
    return { dormitoryId: context.dormitoryId, usage: inPeriod.reduce((sum, i) => sum + i.usage, 0), oldCharge, newCharge, difference: newCharge - oldCharge };
  });
  const sum = (key: 'usage' | 'oldCharge' | 'newCharge' | 'difference') => lines.reduce((total, line) => total + line[key], 0);
  return {
    tariffId: id,
    purse: stored.purse,
    from: new Date(from).toISOString(),
    to: new Date(to).toISOString(),
    dormitories: lines,
    total: { usage: sum('usage'), oldCharge: sum('oldCharge'), newCharge: sum('newCharge'), difference: sum('difference') },
  };
}
