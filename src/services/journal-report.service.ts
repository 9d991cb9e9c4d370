import type { Clock } from '../clock.ts';
import type { Purse } from '../db/database.ts';
import type { Executor } from '../db/executor.ts';
import { alarmJournalPage, moneyJournalPage, type AlarmJournalFilter, type AlarmJournalRow, type CampusWindow, type JournalKey, type MoneyJournalKind, type MoneyJournalRow } from '../db/journal.repository.ts';
import { campusesForReports } from '../db/reconciliation.repository.ts';
import { MS_PER_DAY } from '../domain/local-time.ts';
import { dayFromNumber, dayNumber, daysBetween, isLocalDay, localDayOf, startOfLocalDay } from '../domain/settlement/local-day.ts';
import { DomainError } from '../errors.ts';
import { decodeCursor, everyRow, keysetPage, type ReportPage } from './report-pages.ts';

/**
 * Journals (docs/reports.md): recharges, refunds, adjustments and the alarm history over a
 * range of local days, oldest first. JSON is one keyset page; exports walk every page.
 */

/** The longest range a journal reads: a year of local days. */
export const MAX_JOURNAL_DAYS = 366;

interface DayRange {
  /** The first local day; default: `to` minus 6 days. */
  readonly from?: string | undefined;
  /** The last local day, included; default: today on each campus's clock. */
  readonly to?: string | undefined;
}

/** A campus's window of a journal, as the answer states it. */
export interface CampusRange {
  readonly campus: string;
  readonly from: string;
  readonly to: string;
}

const DEFAULT_DAYS = 7;

function checkDay(value: string | undefined, field: 'from' | 'to'): void {
  if (value !== undefined && !isLocalDay(value)) throw new DomainError('VALIDATION_FAILED', `${value} is not a calendar day (YYYY-MM-DD)`, field);
}

/**
 * Each campus's [start of `from`, end of `to`) on its own clock (a missing `to` is that
 * campus's today, a missing `from` six days before `to`); a 400 naming the field for a bad day
 * or range.
 */
export async function localDayWindows(db: Executor, clock: Clock, range: DayRange): Promise<CampusWindow[]> {
  checkDay(range.from, 'from');
  checkDay(range.to, 'to');
  return (await campusesForReports(db)).map((c) => {
    const to = range.to ?? localDayOf(clock.now(), c.utcOffsetMinutes);
    const from = range.from ?? dayFromNumber(dayNumber(to) - (DEFAULT_DAYS - 1));
    const days = daysBetween(from, to) + 1;
    if (days < 1) throw new DomainError('VALIDATION_FAILED', 'to must be on or after from', 'to');
    if (days > MAX_JOURNAL_DAYS) throw new DomainError('VALIDATION_FAILED', `a journal covers at most ${MAX_JOURNAL_DAYS} days`, 'to');
    return { campusId: c.id, from: new Date(startOfLocalDay(from, c.utcOffsetMinutes)), to: new Date(startOfLocalDay(to, c.utcOffsetMinutes) + MS_PER_DAY) };
  });
}

const rangesOf = (windows: readonly CampusWindow[]): CampusRange[] => windows.map((w) => ({ campus: w.campusId, from: w.from.toISOString(), to: w.to.toISOString() }));

const isJournalKey = (v: unknown): v is JournalKey => {
  if (typeof v !== 'object' || v === null) return false;
  const k = v as Record<string, unknown>;
  return typeof k.at === 'string' && Number.isFinite(Date.parse(k.at)) && Number.isSafeInteger(k.id);
};

export interface MoneyJournalQuery extends DayRange {
  readonly channel?: string | undefined;
  readonly purse?: Purse | undefined;
  readonly building?: string | undefined;
  readonly dormitory?: string | undefined;
}

export interface JournalPage<R> extends ReportPage<R> {
  /** Each campus's window in UTC. */
  readonly campuses: readonly CampusRange[];
}

async function moneyReader(db: Executor, clock: Clock, kind: MoneyJournalKind, query: MoneyJournalQuery) {
  const windows = await localDayWindows(db, clock, query);
  const filter = { kind, windows, channel: query.channel, purse: query.purse, buildingId: query.building, dormitoryId: query.dormitory };
  return { windows, read: (after: JournalKey | null, limit: number) => moneyJournalPage(db, filter, after, limit) };
}

interface PageQuery {
  readonly after?: string | undefined;
  readonly limit?: number | undefined;
}

const moneyKey = (r: MoneyJournalRow): JournalKey => ({ at: r.occurredAt, id: r.entryId });

/** One page of a money journal. */
export async function moneyJournal(db: Executor, clock: Clock, kind: MoneyJournalKind, query: MoneyJournalQuery & PageQuery): Promise<JournalPage<MoneyJournalRow>> {
  const after = decodeCursor(query.after, isJournalKey);
  const { windows, read } = await moneyReader(db, clock, kind, query);
  return { campuses: rangesOf(windows), ...(await keysetPage(read, after, query.limit ?? 100, moneyKey)) };
}

/** Every row of a money journal, page by page (exports); the range is checked before the first byte. */
export async function everyMoneyJournalRow(db: Executor, clock: Clock, kind: MoneyJournalKind, query: MoneyJournalQuery): Promise<AsyncGenerator<MoneyJournalRow>> {
  return everyRow((await moneyReader(db, clock, kind, query)).read, moneyKey);
}

export interface AlarmJournalQuery extends DayRange {
  readonly kind?: string | undefined;
  readonly state?: AlarmJournalFilter['state'];
  readonly dormitory?: string | undefined;
}

async function alarmReader(db: Executor, clock: Clock, query: AlarmJournalQuery) {
  const windows = await localDayWindows(db, clock, query);
  const filter = { windows, kind: query.kind, state: query.state, dormitoryId: query.dormitory };
  return { windows, read: (after: JournalKey | null, limit: number) => alarmJournalPage(db, filter, after, limit) };
}

const alarmKey = (r: AlarmJournalRow): JournalKey => ({ at: r.raisedAt, id: r.alarmId });

/** One page of the alarm history: alarms raised in the range, with who acknowledged or released them and why. */
export async function alarmJournal(db: Executor, clock: Clock, query: AlarmJournalQuery & PageQuery): Promise<JournalPage<AlarmJournalRow>> {
  const after = decodeCursor(query.after, isJournalKey);
  const { windows, read } = await alarmReader(db, clock, query);
  return { campuses: rangesOf(windows), ...(await keysetPage(read, after, query.limit ?? 100, alarmKey)) };
}

/** Every row of the alarm history, page by page (exports). */
export async function everyAlarmJournalRow(db: Executor, clock: Clock, query: AlarmJournalQuery): Promise<AsyncGenerator<AlarmJournalRow>> {
  return everyRow((await alarmReader(db, clock, query)).read, alarmKey);
}
