import type { Kysely } from 'kysely';
import type { Database } from '../db/database.ts';
import type { Executor } from '../db/executor.ts';
import { balancesBefore, campusesForReports, movementsBetween, rechargesByChannel } from '../db/reconciliation.repository.ts';
import { channelOf, type PurseName } from '../domain/reports/ledger-kinds.ts';
import { reconcileDay, totalOf, type ReconciliationLine } from '../domain/reports/reconciliation.ts';
import { dayFromNumber, dayNumber, isLocalDay, startOfLocalDay } from '../domain/settlement/local-day.ts';
import { offsetAt } from '../domain/local-time.ts';
import { DomainError } from '../errors.ts';

export interface ChannelLine {
  readonly campus: string;
  readonly building: string;
  readonly purse: PurseName;
  readonly channel: string;
  readonly amount: number;
  readonly count: number;
}

export interface ChannelTotal {
  readonly channel: string;
  readonly purse: PurseName;
  readonly amount: number;
  readonly count: number;
}

export type PurseTotal = { readonly purse: PurseName } & ReturnType<typeof totalOf>;

export interface ReconciliationReport {
  readonly date: string;
  /** Each campus's day in UTC: [from, to) between its local midnights (23 or 25 hours on a daylight saving switch); the offset is the one at `from`. */
  readonly campuses: readonly { readonly campus: string; readonly timeZone: string; readonly utcOffsetMinutes: number; readonly from: string; readonly to: string }[];
  readonly lines: readonly ReconciliationLine[];
  readonly channels: readonly ChannelLine[];
  /** The day's recharges by channel across every campus: what finance compares with the bank statement. */
  readonly channelTotals: readonly ChannelTotal[];
  readonly totals: readonly PurseTotal[];
  /** Every line ties out, and every line's recharges equal its channels' sum. */
  readonly tiesOut: boolean;
}

type Campus = Awaited<ReturnType<typeof campusesForReports>>[number];

/** One campus's part of the day: its window, its lines and its channels (sorted), read inside the caller's transaction. */
export interface CampusDay {
  readonly window: ReconciliationReport['campuses'][number];
  readonly lines: readonly ReconciliationLine[];
  readonly channels: readonly ChannelLine[];
}

async function reconcileCampus(trx: Executor, campus: Campus, date: string): Promise<CampusDay> {
  const from = new Date(startOfLocalDay(date, campus.zone));
  const to = new Date(startOfLocalDay(dayFromNumber(dayNumber(date) + 1), campus.zone)); // 23, 24 or 25 hours later
  const lines = reconcileDay(await balancesBefore(trx, campus.id, from), await movementsBetween(trx, campus.id, from, to), await balancesBefore(trx, campus.id, to));
  const byChannel = new Map<string, { campus: string; building: string; purse: PurseName; channel: string; amount: number; count: number }>();
  for (const sum of await rechargesByChannel(trx, campus.id, from, to)) {
    const channel = channelOf(sum.method, sum.provider);
    const key = `${sum.building}\u0000${sum.purse}\u0000${channel}`;
    const line = byChannel.get(key) ?? { campus: campus.id, building: sum.building, purse: sum.purse, channel, amount: 0, count: 0 };
    line.amount += sum.amount;
    line.count += sum.count;
    byChannel.set(key, line);
  }
  const channels = [...byChannel.values()].sort((a, b) => compare(a.building, b.building) || compare(a.purse, b.purse) || compare(a.channel, b.channel));
  return { window: { campus: campus.id, timeZone: campus.timeZone, utcOffsetMinutes: offsetAt(campus.zone, from.getTime()), from: from.toISOString(), to: to.toISOString() }, lines, channels };
}

function checkDate(date: string): void {
  if (!isLocalDay(date)) throw new DomainError('VALIDATION_FAILED', `${date} is not a calendar day (YYYY-MM-DD)`, 'date');
}

/**
 * The daily reconciliation of `date` (a local calendar day on each campus's time zone), read
 * in one repeatable-read transaction so the opening, the movements and the closing are one
 * snapshot of the ledger: a charge posted meanwhile is in all three reads or in none.
 */
export async function reconciliationReport(db: Kysely<Database>, date: string): Promise<ReconciliationReport> {
  checkDate(date);
  return db
    .transaction()
    .setIsolationLevel('repeatable read')
    .execute(async (trx) => {
      const days: CampusDay[] = [];
      for (const campus of await campusesForReports(trx)) days.push(await reconcileCampus(trx, campus, date));
      return assemble(
        date,
        days.map((d) => d.window),
        days.flatMap((d) => d.lines),
        days.flatMap((d) => d.channels),
      );
    });
}

/**
 * The same day for an export, one campus at a time: each campus is read in its own short
 * repeatable-read transaction (its opening, movements and closing one snapshot, so each of its
 * lines ties out) and handed on before the next is read, so neither the whole report nor an
 * open transaction waits on a slow download. The date is checked before anything is read.
 */
export function reconciliationByCampus(db: Kysely<Database>, date: string): AsyncGenerator<CampusDay> {
  checkDate(date);
  return (async function* () {
    for (const campus of await campusesForReports(db)) {
      yield await db
        .transaction()
        .setIsolationLevel('repeatable read')
        .execute((trx) => reconcileCampus(trx, campus, date));
    }
  })();
}

const compare = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

function assemble(date: string, campuses: ReconciliationReport['campuses'], lines: ReconciliationLine[], channels: ChannelLine[]): ReconciliationReport {
  const totals = new Map<string, ChannelTotal>();
  for (const c of channels) {
    const key = `${c.channel}\u0000${c.purse}`;
    const t = totals.get(key) ?? { channel: c.channel, purse: c.purse, amount: 0, count: 0 };
    totals.set(key, { ...t, amount: t.amount + c.amount, count: t.count + c.count });
  }
  const channelsTieOut = lines.every((l) => channels.filter((c) => c.campus === l.campus && c.building === l.building && c.purse === l.purse).reduce((s, c) => s + c.amount, 0) === l.recharges);
  const purses: PurseName[] = ['electricity', 'water'];
  return {
    date,
    campuses,
    lines,
    channels,
    channelTotals: [...totals.values()].sort((a, b) => compare(a.channel, b.channel) || compare(a.purse, b.purse)),
    totals: purses.map((purse) => ({ purse, ...totalOf(lines.filter((l) => l.purse === purse)) })),
    tiesOut: channelsTieOut && lines.every((l) => l.tiesOut),
  };
}
