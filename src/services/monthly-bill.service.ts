import type { Kysely } from 'kysely';
import type { Clock } from '../clock.ts';
import { balancesBefore, billedMonths, billKey, billsPage, campusDormitories, campusesToBill, firstEntryAt, insertBills, monthContributions, monthPeriods, monthSums, recordBillRun, type Bill, type BillKey, type CampusToBill, type NewBill } from '../db/bill.repository.ts';
import type { BillShareRow, Database, Purse } from '../db/database.ts';
import type { Executor } from '../db/executor.ts';
import { staysOverlapping } from '../db/occupancy.repository.ts';
import { roomDays } from '../db/settlement.repository.ts';
import { localMonthKey } from '../domain/local-time.ts';
import { billMoney, firstDayOf, isBillMonth, lastEndedMonth, monthsThrough, nextMonth, occupantShares, startOfLocalMonth } from '../domain/reports/monthly-bill.ts';
import { DomainError } from '../errors.ts';
import { decodeCursor, everyRow, keysetPage, type ReportPage } from './report-pages.ts';

/**
 * Monthly bills (docs/reports.md): one per dormitory purse and local month, written once after
 * the month has ended on the campus's clock (and the meters' pending charges are posted), from
 * the ledger as one snapshot. A `bill_runs` row marks a campus's month done, so a restart
 * resumes where it stopped and catches up every month it missed, in order.
 */
const PURSES: readonly Purse[] = ['electricity', 'water'];

/** After a month ends, wait this long before billing it: a reading's time may lag the server's by up to 15 minutes (src/domain/sample-time.ts). */
export const BILL_GRACE_MS = 30 * 60_000;

/** Posts every pending charge of these dormitories (CampusRuntime.flushBilling) before a month is billed. */
export type FlushBilling = (dormitoryIds: readonly string[]) => Promise<void>;

/** Writes the bills of one campus month in one repeatable-read snapshot; returns how many it wrote (or found written). */
export async function generateMonthBills(db: Kysely<Database>, campus: CampusToBill, month: string, at: Date): Promise<number> {
  const from = new Date(startOfLocalMonth(month, campus.zone));
  const to = new Date(startOfLocalMonth(nextMonth(month), campus.zone));
  return db
    .transaction()
    .setIsolationLevel('repeatable read')
    .execute(async (trx) => {
      const dormitories = await campusDormitories(trx, campus.id);
      const opening = await balancesBefore(trx, campus.id, from);
      const sums = await monthSums(trx, campus.id, from, to);
      const periods = await monthPeriods(trx, campus.id, from, to);
      const contributions = await monthContributions(trx, campus.id, from, to);
      const bills: NewBill[] = [];
      for (const dormitory of dormitories) {
        const stays = campus.settlementPolicy === 'per-share' ? await staysOverlapping(trx, dormitory.id, firstDayOf(month), firstDayOf(nextMonth(month))) : [];
        for (const purse of PURSES) {
          const key = billKey(dormitory.id, purse);
          const moved = sums.get(key);
          const shares = stays.length === 0 ? [] : await sharesOf(trx, campus, month, dormitory.id, purse, stays, contributions);
          bills.push({
            month,
            dormitoryId: dormitory.id,
            purse,
            campusId: campus.id,
            buildingId: dormitory.buildingId,
            from,
            to,
            ...billMoney(opening.get(key) ?? 0, moved?.kinds ?? {}),
            usage: moved?.usage ?? 0,
            quotaGranted: moved?.quotaGranted ?? 0,
            quotaUsed: moved?.quotaUsed ?? 0,
            periods: periods.get(key) ?? [],
            settlementPolicy: campus.settlementPolicy,
            shares,
            generatedAt: at,
          });
        }
      }
      await insertBills(trx, bills);
      await recordBillRun(trx, campus.id, month, bills.length, at);
      return bills.length;
    });
}

async function sharesOf(
  trx: Executor,
  campus: CampusToBill,
  month: string,
  dormitoryId: string,
  purse: Purse,
  stays: readonly { id: number; studentId: string; fromDay: string; toDay: string | null }[],
  contributions: ReadonlyMap<string, number>,
): Promise<BillShareRow[]> {
  const days = await roomDays(trx, dormitoryId, purse, firstDayOf(month), firstDayOf(nextMonth(month)), campus.zone);
  const own = new Map(stays.map((s) => [s.id, contributions.get(billKey(String(s.id), purse)) ?? 0]));
  const student = new Map(stays.map((s) => [s.id, s.studentId]));
  return occupantShares(month, campus.settlementPolicy, stays.map((s) => ({ occupancyId: s.id, fromDay: s.fromDay, toDay: s.toDay })), days, own).map((s) => ({ studentId: student.get(s.occupancyId) ?? '', ...s }));
}

/** What one run billed. */
export interface BillRun {
  readonly campusId: string;
  readonly month: string;
  readonly bills: number;
}

/**
 * Bills every campus month that has ended (with the grace) by `now` and is not billed yet, in
 * order, from the month of the campus's first ledger entry: at a month end, and after downtime
 * every month missed. The meters' pending charges are posted first.
 */
export async function generateDueBills(db: Kysely<Database>, now: number, flush: FlushBilling | undefined): Promise<BillRun[]> {
  const runs: BillRun[] = [];
  for (const campus of await campusesToBill(db)) {
    const done = await billedMonths(db, campus.id);
    const first = await firstUnbilledMonth(db, campus, done);
    if (first === null) continue;
    const last = lastEndedMonth(now - BILL_GRACE_MS, campus.zone);
    const due = monthsThrough(first, last).filter((m) => !done.has(m));
    if (due.length === 0) continue;
    if (flush) {
      const ids = (await campusDormitories(db, campus.id)).map((d) => d.id);
      for (let i = 0; i < ids.length; i += 500) await flush(ids.slice(i, i + 500));
    }
    for (const month of due) runs.push({ campusId: campus.id, month, bills: await generateMonthBills(db, campus, month, new Date(now)) });
  }
  return runs;
}

/** The first month of a campus not billed yet: after the last billed one, or the month of its first ledger entry; null when it has none. */
async function firstUnbilledMonth(db: Executor, campus: CampusToBill, done: ReadonlySet<string>): Promise<string | null> {
  const latest = [...done].sort().at(-1);
  if (latest !== undefined) return nextMonth(latest);
  const at = await firstEntryAt(db, campus.id);
  return at === null ? null : localMonthKey(at.getTime(), campus.zone);
}

/**
 * When the first unbilled month of any campus becomes due (its end plus the grace): in the past
 * when a run that began before a month end finished after it, so the watcher runs again at once.
 */
async function nextDueAt(db: Executor): Promise<number> {
  let next = Number.POSITIVE_INFINITY;
  for (const campus of await campusesToBill(db)) {
    const first = await firstUnbilledMonth(db, campus, await billedMonths(db, campus.id));
    if (first !== null) next = Math.min(next, startOfLocalMonth(nextMonth(first), campus.zone) + BILL_GRACE_MS);
  }
  return next;
}

/**
 * Generates due bills now (catching up after downtime), then again when each month closes on
 * the injected clock (at the latest every `maxWaitMs`, so a campus added meanwhile is seen).
 * Returns a stop function.
 */
export function watchMonthlyBills(deps: { db: Kysely<Database>; clock: Clock; flush?: FlushBilling; onError: (error: unknown) => void; onBilled?: (runs: BillRun[]) => void; onChecked?: () => void }, maxWaitMs = 3_600_000): () => Promise<void> {
  let cancel: () => void = () => undefined;
  let stopped = false;
  let running: Promise<void> = Promise.resolve();
  const tick = () => {
    let waitMs = maxWaitMs;
    running = (async () => {
      const runs = await generateDueBills(deps.db, deps.clock.now(), deps.flush);
      if (runs.length) deps.onBilled?.(runs);
      waitMs = Math.max(1, Math.min(maxWaitMs, (await nextDueAt(deps.db)) - deps.clock.now()));
    })()
      .catch((error: unknown) => {
        // A failed run (a dormitory too busy to flush, the database away) is retried soon, not at the next month end.
        waitMs = Math.min(maxWaitMs, 60_000);
        deps.onError(error);
      })
      .finally(() => {
        if (!stopped) cancel = deps.clock.schedule(waitMs, tick);
        deps.onChecked?.();
      });
  };
  tick();
  // Stopping waits for a run in flight, so the database is not closed under it.
  return async () => {
    stopped = true;
    cancel();
    await running;
  };
}

interface BillQuery {
  readonly month?: string | undefined;
  readonly dormitory?: string | undefined;
  readonly building?: string | undefined;
}

function checked(query: BillQuery): { month?: string | undefined; dormitoryId?: string | undefined; buildingId?: string | undefined } {
  if (query.month !== undefined && !isBillMonth(query.month)) throw new DomainError('VALIDATION_FAILED', 'month must be YYYY-MM', 'month');
  return { month: query.month, dormitoryId: query.dormitory, buildingId: query.building };
}

const isBillKey = (v: unknown): v is BillKey => {
  if (typeof v !== 'object' || v === null) return false;
  const k = v as Record<string, unknown>;
  return isBillMonth(k.month) && typeof k.dormitoryId === 'string' && (k.purse === 'electricity' || k.purse === 'water');
};
const billKeyOf = (b: Bill): BillKey => ({ month: b.month, dormitoryId: b.dormitoryId, purse: b.purse });

/** Stored bills (by month, dormitory, building): one keyset page. */
export async function billsReport(db: Executor, query: BillQuery & { after?: string | undefined; limit?: number | undefined }): Promise<ReportPage<Bill>> {
  const filter = checked(query);
  return keysetPage((after: BillKey | null, limit: number) => billsPage(db, { ...filter, after, limit }), decodeCursor(query.after, isBillKey), query.limit ?? 100, billKeyOf);
}

/** Every stored bill of the query, page by page (exports). */
export function everyBill(db: Executor, query: BillQuery): AsyncGenerator<Bill> {
  const filter = checked(query);
  return everyRow((after: BillKey | null, limit: number) => billsPage(db, { ...filter, after, limit }), billKeyOf);
}
