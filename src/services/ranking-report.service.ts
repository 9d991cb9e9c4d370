import type { Clock } from '../clock.ts';
import type { Purse } from '../db/database.ts';
import type { Executor } from '../db/executor.ts';
import { arrearsPage, topConsumers, zeroUseDormitories, type ArrearsKey, type ArrearsRow, type ConsumerRow, type ZeroUseRow } from '../db/ranking.repository.ts';
import { MS_PER_DAY } from '../domain/local-time.ts';
import { decodeCursor, everyRow, keysetPage, type ReportPage } from './report-pages.ts';
import { reportRange } from './report-range.ts';

/** Ranked lists (docs/reports.md): the top consumers, occupied rooms with zero use, the arrears list. */
const WEEK_MS = 7 * MS_PER_DAY;
/**
 * The longest zero-use range: a year. Each room's test is an index probe over the range, but an
 * unbounded range (from 1970) asks every room about its whole history and says nothing useful.
 */
export const ZERO_USE_MAX_DAYS = 366;
const ZERO_USE_MAX_MS = ZERO_USE_MAX_DAYS * MS_PER_DAY;

interface RangeQuery {
  readonly from?: string | undefined;
  readonly to?: string | undefined;
  readonly building?: string | undefined;
}

export interface TopConsumersReport {
  readonly purse: Purse;
  readonly from: string;
  readonly to: string;
  readonly rows: readonly (ConsumerRow & { readonly rank: number })[];
}

/** The dormitories that used the most of a purse in [from, to) (default: the last 7 days), most first. */
export async function topConsumersReport(db: Executor, clock: Clock, query: RangeQuery & { purse?: Purse | undefined; limit?: number | undefined }): Promise<TopConsumersReport> {
  const { from, to } = reportRange(query, clock, WEEK_MS);
  const purse = query.purse ?? 'electricity';
  const rows = await topConsumers(db, { purse, from: new Date(from), to: new Date(to), buildingId: query.building, limit: query.limit ?? 20 });
  return { purse, from: new Date(from).toISOString(), to: new Date(to).toISOString(), rows: rows.map((r, i) => ({ rank: i + 1, ...r })) };
}

const isDormitoryKey = (v: unknown): v is string => typeof v === 'string' && v.length > 0 && v.length <= 128;

export interface ZeroUseReport extends ReportPage<ZeroUseRow> {
  readonly from: string;
  readonly to: string;
}

/** Occupied dormitories (someone stayed throughout [from, to), default the last 7 days) whose meters recorded no electricity: one keyset page. */
export async function zeroUseReport(db: Executor, clock: Clock, query: RangeQuery & { after?: string | undefined; limit?: number | undefined }): Promise<ZeroUseReport> {
  const { from, to } = reportRange(query, clock, WEEK_MS, ZERO_USE_MAX_MS);
  const read = zeroUseReader(db, from, to, query.building);
  const page = await keysetPage(read, decodeCursor(query.after, isDormitoryKey), query.limit ?? 100, (r) => r.dormitoryId);
  return { from: new Date(from).toISOString(), to: new Date(to).toISOString(), ...page };
}

function zeroUseReader(db: Executor, from: number, to: number, buildingId: string | undefined) {
  return (after: string | null, limit: number) => zeroUseDormitories(db, { from: new Date(from), to: new Date(to), buildingId, after, limit });
}

/** Every row of the zero-use list, page by page (exports). */
export function everyZeroUse(db: Executor, clock: Clock, query: RangeQuery): { from: string; to: string; rows: AsyncGenerator<ZeroUseRow> } {
  const { from, to } = reportRange(query, clock, WEEK_MS, ZERO_USE_MAX_MS);
  return { from: new Date(from).toISOString(), to: new Date(to).toISOString(), rows: everyRow(zeroUseReader(db, from, to, query.building), (r) => r.dormitoryId) };
}

const isArrearsKey = (v: unknown): v is ArrearsKey => {
  if (typeof v !== 'object' || v === null) return false;
  const k = v as Record<string, unknown>;
  return Number.isSafeInteger(k.balanceFen) && isDormitoryKey(k.dormitoryId) && (k.purse === 'electricity' || k.purse === 'water');
};
const arrearsKeyOf = (r: ArrearsRow): ArrearsKey => ({ balanceFen: r.balanceFen, dormitoryId: r.dormitoryId, purse: r.purse });

interface ArrearsQuery {
  readonly purse?: Purse | undefined;
  readonly building?: string | undefined;
}

/** Purses below zero or cut for arrears, most owed first, with the amount and since when: one keyset page. */
export async function arrearsReport(db: Executor, query: ArrearsQuery & { after?: string | undefined; limit?: number | undefined }): Promise<ReportPage<ArrearsRow>> {
  return keysetPage(arrearsReader(db, query), decodeCursor(query.after, isArrearsKey), query.limit ?? 100, arrearsKeyOf);
}

function arrearsReader(db: Executor, query: ArrearsQuery) {
  return (after: ArrearsKey | null, limit: number) => arrearsPage(db, { purse: query.purse, buildingId: query.building, after, limit });
}

/** Every row of the arrears list, page by page (exports). */
export function everyArrears(db: Executor, query: ArrearsQuery): AsyncGenerator<ArrearsRow> {
  return everyRow(arrearsReader(db, query), arrearsKeyOf);
}
