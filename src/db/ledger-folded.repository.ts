import { sql } from 'kysely';
import type { Purse } from './database.ts';
import type { Executor } from './executor.ts';
import type { LedgerPage } from './ledger.repository.ts';

type LedgerItem = LedgerPage['items'][number];

/** A day of free-quota usage of one purse, folded into one row (what the row stands for). */
export interface FreeUsageFold {
  /** The campus day, YYYY-MM-DD. */
  readonly day: string;
  /** How many 0.00 consumption entries it folds. */
  readonly entries: number;
  readonly fromId: number;
  readonly toId: number;
}

/** An entry, or a day's free-quota usage folded: `fold` is set, the fields are the day's latest entry's, `usage` the day's sum. */
export type FoldedLedgerItem = LedgerItem & { readonly fold?: FreeUsageFold };

export interface FoldedLedgerPage {
  readonly items: readonly FoldedLedgerItem[];
  /** The `before` of the next (older) page; null on the last page. */
  readonly next: number | null;
}

type KeyRow = { key: number | string; free_day: string | null; entries: number | string; usage: number | string | null; from_id: number | string };
type EntryRow = { id: number; purse: Purse; kind: LedgerItem['kind']; amount: number; usage: number | null; balance_after: number; reference: string | null; operator: string | null; meter_id: string | null; occurred_at: Date | string; details: Record<string, unknown> };

/**
 * A dormitory's ledger, newest first, with free-quota usage (consumption entries of 0.00) of one
 * purse on one campus day (in `timeZone`) folded into one row, and keyset-paged on rows: a page
 * is `pageSize` rows after folding. A row's key is its entry id, or a fold's latest entry id;
 * `before` gives the rows with a smaller key. A day whose fold was on an earlier page is left out
 * whole (its older entries too), so a day is never split over two pages.
 */
export async function listFoldedLedger(
  db: Executor,
  dormitoryId: string,
  options: { purse?: Purse | undefined; before?: number | undefined; pageSize: number; timeZone: string },
): Promise<FoldedLedgerPage> {
  const before = options.before ?? Number.MAX_SAFE_INTEGER;
  const purse = options.purse ?? null;
  const freeDay = (alias: string) => sql`case when ${sql.ref(`${alias}.kind`)} = 'consumption_charge' and ${sql.ref(`${alias}.amount`)} = 0 then to_char(${sql.ref(`${alias}.occurred_at`)} at time zone ${options.timeZone}, 'YYYY-MM-DD') end`;
  const keys = await sql<KeyRow>`
    with entries as (
      select e.id, e.purse, e.usage, ${freeDay('e')} as free_day
      from ledger_entries e
      where e.dormitory_id = ${dormitoryId} and (${purse}::text is null or e.purse = ${purse}) and e.id < ${before}
    ),
    shown as (
      -- free days that reach the cursor: folded on an earlier page
      select distinct s.purse, ${freeDay('s')} as free_day
      from ledger_entries s
      where s.dormitory_id = ${dormitoryId} and (${purse}::text is null or s.purse = ${purse}) and s.id >= ${before}
        and s.kind = 'consumption_charge' and s.amount = 0
    ),
    rows as (
      select max(e.id) as key, e.free_day, count(*) as entries, sum(e.usage) as usage, min(e.id) as from_id
      from entries e
      where e.free_day is not null
        and not exists (select 1 from shown where shown.purse = e.purse and shown.free_day = e.free_day)
      group by e.purse, e.free_day
      union all
      select e.id as key, null as free_day, 1 as entries, e.usage, e.id as from_id
      from entries e
      where e.free_day is null
    )
    select key, free_day, entries, usage, from_id from rows order by key desc limit ${options.pageSize + 1}
  `.execute(db);
  const page = keys.rows.slice(0, options.pageSize);
  const ids = page.map((r) => Number(r.key));
  const entries = ids.length === 0 ? [] : ((await db.selectFrom('ledger_entries').selectAll().where('id', 'in', ids).execute()) as EntryRow[]);
  const byId = new Map(entries.map((e) => [Number(e.id), e]));
  const items = page.map((r): FoldedLedgerItem => {
    const e = byId.get(Number(r.key))!;
    const item: LedgerItem = {
      id: Number(e.id),
      purse: e.purse,
      kind: e.kind,
      amount: Number(e.amount),
      usage: r.usage === null ? null : Number(r.usage),
      balanceAfter: Number(e.balance_after),
      reference: e.reference,
      operator: e.operator,
      meterId: e.meter_id,
      occurredAt: new Date(e.occurred_at).toISOString(),
      details: e.details,
    };
    return r.free_day === null ? item : { ...item, fold: { day: r.free_day, entries: Number(r.entries), fromId: Number(r.from_id), toId: Number(r.key) } };
  });
  return { items, next: keys.rows.length > options.pageSize ? ids[ids.length - 1]! : null };
}
